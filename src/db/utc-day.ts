import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from './index.js';

/**
 * The UTC day (`YYYY-MM-DD`) of a timestamp column, for grouping by day the same way in both dialects: timestamps
 * are ISO text in SQLite (the day is its first 10 characters) and timestamptz in PostgreSQL.
 */
export function utcDay(dialect: Dialect, column: string): RawBuilder<string> {
  return dialect === 'postgres'
    ? sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD')`
    : sql<string>`substr(${sql.ref(column)}, 1, 10)`;
}
