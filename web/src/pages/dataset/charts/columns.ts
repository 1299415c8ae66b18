import type { DatasetVersion } from '../types';

type Column = DatasetVersion['schema'][number];

/** The column roles the analytics endpoints accept (src/analytics/columns.ts on the server says the same). */
const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL)/i;
/** Timestamps and dates; a TIME of day is not on a time line. */
const TEMPORAL = /^(TIMESTAMP|DATE$)/i;
/** Lists, structs, maps and blobs hold more than one value: they have no value counts. */
const COMPOUND = /(\[\]$|^(STRUCT|MAP|UNION|BLOB|BIT)\b)/i;

export const isNumeric = (c: Column) => NUMERIC.test(c.type);
export const isTemporal = (c: Column) => TEMPORAL.test(c.type);
export const isScalar = (c: Column) => !COMPOUND.test(c.type);

/** Options of a column picker: the column names, as text. */
export const columnOptions = (columns: readonly Column[]) => columns.map((c) => ({ value: c.name, label: c.name }));

/** The chosen column when it is still one of `columns` (a URL may name one of another version), else the first. */
export function pick(columns: readonly Column[], chosen: string): string {
  return columns.some((c) => c.name === chosen) ? chosen : (columns[0]?.name ?? '');
}
