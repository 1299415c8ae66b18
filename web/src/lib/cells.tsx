import { formatNumber } from './format';

/**
 * Typed cells for grids of dataset rows. Values arrive as JSON (preview rows): numbers, strings, booleans, null,
 * and timestamps as ISO strings. DuckDB type names decide alignment and formatting. Everything is rendered as
 * text, never as HTML: a value or a column name that looks like markup stays text.
 */
export type CellKind = 'number' | 'boolean' | 'time' | 'text';

export function cellKind(duckdbType: string): CellKind {
  const t = duckdbType.toUpperCase();
  if (
    /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL)/.test(t)
  )
    return 'number';
  if (t === 'BOOLEAN') return 'boolean';
  if (t.startsWith('TIMESTAMP') || t === 'DATE' || t.startsWith('TIME')) return 'time';
  return 'text';
}

export function formatCell(value: unknown, kind: CellKind): string {
  if (value === null || value === undefined) return '';
  if (kind === 'number' && typeof value === 'number') return formatNumber(value);
  if (kind === 'time' && typeof value === 'string') return value.replace('T', ' ').replace(/\.000(?=Z|$)/, '');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A cell's text with a null shown as a muted "null", and numbers right-aligned (class `num`). */
export function Cell({ value, kind }: { value: unknown; kind: CellKind }) {
  if (value === null || value === undefined) return <span className="muted">null</span>;
  return <>{formatCell(value, kind)}</>;
}
