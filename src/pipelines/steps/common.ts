import { Type, type TSchema } from 'typebox';
import type { TLocalizedValidationError } from 'typebox/error';
import { Value } from 'typebox/value';
import type { ColumnSchema } from '../../engine/sql.js';
import { errors, type AppError, type FieldError } from '../../errors.js';
import { NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_MESSAGE } from '../../http/schema-types.js';
import { quoteForMessage } from '../expr/errors.js';
import { didYouMean, nearMatches, noSuchColumn } from '../expr/suggest.js';

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
  throw stepError(
    pointer,
    noSuchColumn(
      name,
      schema.map((c) => c.name),
    ),
  );
}

/** Each of `names` (pointer of item i: `${pointer}/${i}`); duplicates are refused too. */
export function requireColumns(
  schema: readonly ColumnSchema[],
  names: readonly string[],
  pointer: string,
): ColumnSchema[] {
  const seen = new Set<string>();
  return names.map((name, i) => {
    if (seen.has(name)) throw stepError(`${pointer}/${i}`, `column ${quoteForMessage(name)} is listed twice`);
    seen.add(name);
    return requireColumn(schema, name, `${pointer}/${i}`);
  });
}

/**
 * A 400 unless no column of `schema` is already called `name` (derive, rename and window outputs). DuckDB matches
 * names ignoring case and would silently rename a second `Temp` beside `temp` to `Temp_1`, so case is ignored here too.
 */
export function requireNewName(schema: readonly ColumnSchema[], name: string, pointer: string, except?: string): void {
  const existing = schema.find((c) => sameName(c.name, name));
  if (name !== except && existing)
    throw stepError(pointer, `a column named ${quoteForMessage(existing.name)} already exists`);
}

/** Whether DuckDB takes two column names for the same column (it compares them ignoring case). */
export const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * A column name in a step's fields: text DuckDB can hold as a name (it only ever enters SQL through `ident()`),
 * without control characters, which ingest refuses in names too (a NUL breaks DuckDB's identifiers).
 */
export const ColumnName = Type.String({ minLength: 1, maxLength: 1024, pattern: NO_CONTROL_CHARACTERS });

/** One reference token of a JSON pointer (RFC 6901): `~` and `/` escaped, so a key like `a/b` points at itself. */
export const pointerToken = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * `column`'s DuckDB type as SQL text, for casts that must keep a column's type (fill_nulls). Type names come from
 * DuckDB, not the user, but an ENUM's carries its values: only plain names like `DECIMAL(10,2)` or
 * `TIMESTAMP WITH TIME ZONE` are written into SQL; anything else is a 400 at `pointer`.
 */
export function sqlTypeOf(column: ColumnSchema, pointer: string): string {
  if (/^[A-Z][A-Z0-9_ ]*(\(\d+(, ?\d+)?\))?$/.test(column.type)) return column.type;
  throw stepError(
    pointer,
    `column ${quoteForMessage(column.name)} has type ${quoteForMessage(column.type)}, which this step cannot keep`,
  );
}

const TYPE_NOUN: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/**
 * The problems of `value` against a TypeBox `schema`, as `errors[]` entries at `pointer` + the field's path, worded
 * for people ("must be a string", "unknown field 'colum'; did you mean 'column'?", "must be one of 'a', 'b'").
 * TypeBox reports an anyOf as one error per branch plus one for the anyOf: those are merged into one message.
 */
export function schemaErrors(schema: TSchema, value: unknown, pointer: string, limit = 10): FieldError[] {
  const found = Value.Errors(schema, value);
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const add = (at: string, message: string) => {
    if (seen.has(at)) return;
    seen.add(at);
    out.push({ pointer: `${pointer}${at}`, message });
  };
  for (const e of found) {
    const at = e.instancePath;
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'boolean':
        break;
      case 'required':
        for (const name of params.requiredProperties as string[])
          add(`${at}/${pointerToken(name)}`, `missing required field ${quoteForMessage(name)}`);
        break;
      case 'additionalProperties': {
        const known = Object.keys(
          (schemaAt(schema, e.schemaPath) as { properties?: object } | undefined)?.properties ?? {},
        );
        for (const name of params.additionalProperties as string[]) {
          const hint = didYouMean(nearMatches(name, known), quoteForMessage);
          add(
            `${at}/${pointerToken(name)}`,
            `unknown field ${quoteForMessage(name)}${hint ? `; ${hint}` : known.length > 0 ? `; the fields are ${known.map((k) => quoteForMessage(k)).join(', ')}` : ''}`,
          );
        }
        break;
      }
      default:
        if (!seen.has(at)) add(at, describeProblem(at, found));
    }
    if (out.length >= limit) break;
  }
  return out;
}

/** One message for everything TypeBox found wrong at `at` (the branches of an anyOf, a type and an enum…). */
function describeProblem(at: string, all: readonly TLocalizedValidationError[]): string {
  const here = all.filter((e) => e.instancePath === at && e.keyword !== 'anyOf');
  const allowed = here.flatMap((e) => {
    const p = e.params as { allowedValue?: unknown; allowedValues?: unknown[] };
    return e.keyword === 'const' ? [p.allowedValue] : e.keyword === 'enum' ? (p.allowedValues ?? []) : [];
  });
  if (allowed.length > 0)
    return `must be one of ${allowed.map((v) => (typeof v === 'string' ? quoteForMessage(v) : JSON.stringify(v))).join(', ')}`;
  const types = here
    .filter((e) => e.keyword === 'type')
    .map(
      (e) => TYPE_NOUN[String((e.params as { type: unknown }).type)] ?? String((e.params as { type: unknown }).type),
    );
  if (types.length > 0)
    return `must be ${types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1)}` : types[0]}`;
  const first = here[0];
  if (first === undefined) return 'is invalid';
  const limit = (first.params as { limit?: unknown }).limit;
  switch (first.keyword) {
    case 'minItems':
      return `must have at least ${String(limit)} item${limit === 1 ? '' : 's'}`;
    case 'maxItems':
      return `must have at most ${String(limit)} items`;
    case 'minLength':
      return limit === 1 ? 'must not be empty' : `must be at least ${String(limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(limit)} characters long`;
    case 'minProperties':
      return `must have at least ${String(limit)} entr${limit === 1 ? 'y' : 'ies'}`;
    case 'maxProperties':
      return `must have at most ${String(limit)} entries`;
    case 'pattern': {
      const pattern = (first.params as { pattern?: unknown }).pattern;
      return pattern === NO_CONTROL_CHARACTERS ? NO_CONTROL_CHARACTERS_MESSAGE : `must match ${String(pattern)}`;
    }
    default:
      return first.message;
  }
}

/** The sub-schema at a TypeBox error's `schemaPath` (`#/properties/by/items`). */
function schemaAt(schema: TSchema, path: string): unknown {
  let node: unknown = schema;
  for (const raw of path
    .replace(/^#\/?/, '')
    .split('/')
    .filter((s) => s !== '')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}
