/**
 * The only way identifiers and literals enter DuckDB SQL in Weir. Column names come from user files, so they are
 * always quoted; literal strings (server-made file paths, user text values) are always escaped.
 */

export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export const literal = (value: string): string => {
  if (value.includes('\0')) throw new Error('NUL byte in SQL literal');
  return `'${value.replaceAll("'", "''")}'`;
};

export interface ColumnSchema {
  name: string;
  /** DuckDB logical type name, e.g. BIGINT, DOUBLE, VARCHAR, TIMESTAMP WITH TIME ZONE. */
  type: string;
  nullable: boolean;
}

export type TypeFamily =
  'integer' | 'float' | 'decimal' | 'boolean' | 'text' | 'timestamp' | 'date' | 'time' | 'binary' | 'nested' | 'other';

export function typeFamily(type: string): TypeFamily {
  const t = type.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/.test(t))
    return 'integer';
  if (t === 'FLOAT' || t === 'DOUBLE') return 'float';
  if (t.startsWith('DECIMAL')) return 'decimal';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'VARCHAR' || t.startsWith('ENUM') || t === 'UUID') return 'text';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIME')) return 'time';
  if (t === 'BLOB' || t === 'BIT') return 'binary';
  if (t.endsWith('[]') || t.startsWith('STRUCT') || t.startsWith('MAP') || t.startsWith('UNION') || /\[\d+\]$/.test(t))
    return 'nested';
  return 'other';
}

export const isNumeric = (type: string): boolean => ['integer', 'float', 'decimal'].includes(typeFamily(type));

/** ISO 8601 UTC text for a timestamp (naive timestamps are taken as UTC: Weir keeps UTC everywhere). */
export const isoTimestamp = (expr: string): string => `strftime(${expr}, '%Y-%m-%dT%H:%M:%S.%gZ')`;

/**
 * A projection of one column into a JSON-friendly value: timestamps as ISO strings, decimals as doubles,
 * binary as base64, odd scalars as text. Integers stay integers (converted to number or string in JS).
 */
export function jsonFriendly(column: ColumnSchema, alias = column.name): string {
  const c = ident(column.name);
  let expr: string;
  switch (typeFamily(column.type)) {
    case 'timestamp':
      expr = isoTimestamp(c);
      break;
    case 'date':
      expr = `strftime(${c}, '%Y-%m-%d')`;
      break;
    case 'decimal':
      expr = `CAST(${c} AS DOUBLE)`;
      break;
    case 'binary':
      expr = `base64(CAST(${c} AS BLOB))`;
      break;
    case 'nested':
      expr = `CAST(to_json(${c}) AS VARCHAR)`;
      break;
    case 'time':
    case 'other':
      expr = `CAST(${c} AS VARCHAR)`;
      break;
    default:
      expr = c;
  }
  return `${expr} AS ${ident(alias)}`;
}

/** Cells that a spreadsheet would run as a formula: text starting with = + - @ tab or CR. */
export const FORMULA_TRIGGER_REGEX = '^[=+\\-@\\t\\r]';

/** Text columns prefixed with ' when they would be read as a formula; other columns as jsonFriendly/raw. */
export function neutralizedText(column: ColumnSchema): string {
  const c = ident(column.name);
  return `CASE WHEN regexp_matches(${c}, ${literal(FORMULA_TRIGGER_REGEX)}) THEN '''' || ${c} ELSE ${c} END AS ${c}`;
}
