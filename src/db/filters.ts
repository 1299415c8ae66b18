import { sql, type RawBuilder } from 'kysely';

/**
 * `column` contains `text`, in any case: the name filter of every list (`?search=`). LIKE's wildcards in the text
 * match themselves; the same SQL on SQLite and PostgreSQL.
 */
export function containsInAnyCase(column: string, text: string): RawBuilder<boolean> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}
