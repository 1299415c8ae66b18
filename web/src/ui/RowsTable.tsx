import { useMemo } from 'react';
import { Cell, cellKind } from '../lib/cells';
import './rows-table.css';

export interface RowsColumn {
  name: string;
  /** The DuckDB type, which decides alignment and formatting. */
  type: string;
}

/**
 * A small grid of dataset rows (rows as arrays in column order), for previews of a few hundred rows at most: a plain
 * table, not virtualised. It scrolls in both directions inside its own region, which takes keyboard focus so it can
 * be scrolled without a mouse. Names and values are text, never HTML.
 */
export function RowsTable({
  columns,
  rows,
  label,
  maxHeight = '18rem',
}: {
  columns: readonly RowsColumn[];
  rows: readonly (readonly unknown[])[];
  /** Names the region and the table for screen readers, e.g. "Output of step 2". */
  label: string;
  maxHeight?: string;
}) {
  const kinds = useMemo(() => columns.map((c) => cellKind(c.type)), [columns]);
  return (
    <div className="table-wrap rows-table" role="region" aria-label={label} tabIndex={0} style={{ maxHeight }}>
      <table className="table">
        <caption className="visually-hidden">{label}</caption>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={`${i}:${c.name}`} scope="col" className={kinds[i] === 'number' ? 'num' : undefined}>
                <span className="rows-table-name">{c.name}</span>
                <span className="rows-table-type">{c.type.toLowerCase()}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {columns.map((_, i) => (
                <td key={i} className={kinds[i] === 'number' ? 'num' : undefined}>
                  <Cell value={row[i]} kind={kinds[i] ?? 'text'} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
