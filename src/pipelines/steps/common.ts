import type { ColumnSchema } from '../../engine/sql.js';
import { errors, type AppError } from '../../errors.js';
import { quoteForMessage } from '../expr/errors.js';
import { didYouMean, nearMatches } from '../expr/suggest.js';

/**
 * Checks every step module shares: errors name the step's field by JSON pointer, so a client (and the dashboard)
 * can put the message next to the input that caused it.
 */

/** A 400 `validation_failed` at one field of a step: `stepError('/steps/2/column', "no column named 'x'")`. */
export function stepError(pointer: string, message: string): AppError {
  return errors.validation(`Invalid pipeline: ${message} (at ${pointer})`, [{ pointer, message }]);
}

/** The column named `name`, or a 400 at `pointer` with the closest names as a hint. */
export function requireColumn(schema: readonly ColumnSchema[], name: string, pointer: string): ColumnSchema {
  const found = schema.find((c) => c.name === name);
  if (found) return found;
  const hint = didYouMean(nearMatches(name, schema.map((c) => c.name)), quoteForMessage);
  throw stepError(pointer, `no column named ${quoteForMessage(name)}${hint ? `; ${hint}` : ''}`);
}

/** Each of `names` (pointer of item i: `${pointer}/${i}`); duplicates are refused too. */
export function requireColumns(schema: readonly ColumnSchema[], names: readonly string[], pointer: string): ColumnSchema[] {
  const seen = new Set<string>();
  return names.map((name, i) => {
    if (seen.has(name)) throw stepError(`${pointer}/${i}`, `column ${quoteForMessage(name)} is listed twice`);
    seen.add(name);
    return requireColumn(schema, name, `${pointer}/${i}`);
  });
}

/** A 400 unless no column of `schema` is already called `name` (derive, rename and window outputs). */
export function requireNewName(schema: readonly ColumnSchema[], name: string, pointer: string, except?: string): void {
  if (name !== except && schema.some((c) => c.name === name)) throw stepError(pointer, `a column named ${quoteForMessage(name)} already exists`);
}
