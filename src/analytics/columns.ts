import { ident, typeFamily, type ColumnSchema, type TypeFamily } from '../engine/sql.js';
import { errors } from '../errors.js';
import { quoteForMessage } from '../pipelines/expr/errors.js';
import { noSuchColumn } from '../pipelines/expr/suggest.js';

/** What each analytics parameter accepts, for the message when a column does not fit. */
export type ColumnRole = 'numeric' | 'temporal' | 'scalar';

const ACCEPTS: Record<ColumnRole, { families: readonly TypeFamily[]; noun: string }> = {
  numeric: { families: ['integer', 'float', 'decimal'], noun: 'a numeric column' },
  temporal: { families: ['timestamp', 'date'], noun: 'a timestamp or date column' },
  scalar: {
    families: ['integer', 'float', 'decimal', 'boolean', 'text', 'timestamp', 'date', 'time', 'other'],
    noun: 'a column of single values (not a list, struct or binary)',
  },
};

/**
 * The column `name` of the version, of one of `roles`; otherwise a 400 naming the request parameter (`/query/column`)
 * with the nearest column names as a hint.
 */
export function resolveColumn(
  schema: readonly ColumnSchema[],
  name: string,
  pointer: string,
  roles: readonly ColumnRole[],
): ColumnSchema {
  const column = schema.find((c) => c.name === name);
  if (!column) {
    const message = noSuchColumn(
      name,
      schema.map((c) => c.name),
    );
    throw errors.validation(`Unknown column: ${message}`, [{ pointer, message }]);
  }
  const family = typeFamily(column.type);
  if (!roles.some((r) => ACCEPTS[r].families.includes(family))) {
    const message = `column ${quoteForMessage(name)} is ${column.type}; expected ${roles.map((r) => ACCEPTS[r].noun).join(' or ')}`;
    throw errors.validation(message, [{ pointer, message }]);
  }
  return column;
}

/** Microseconds since the epoch of a timestamp or date column, as BIGINT (dates are midnight UTC). */
export function epochMicros(column: ColumnSchema): string {
  const c = ident(column.name);
  return typeFamily(column.type) === 'date' ? `epoch_us(CAST(${c} AS TIMESTAMP))` : `epoch_us(${c})`;
}

/** ISO 8601 UTC text of an epoch in microseconds (millisecond precision, as everywhere in Weir's JSON). */
export const isoOfMicros = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();
