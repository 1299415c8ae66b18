import { createColumnHelper, tableFeatures, useTable } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useMemo, useRef, type CSSProperties, type ReactNode } from 'react';
import { Cell, type CellKind } from '../lib/cells';
import './data-grid.css';

/** A column of the grid: its values are `row[index]` of each row array. */
export interface GridColumn {
  name: string;
  kind: CellKind;
}

/** One rendered row: its index in the whole set and its values, or undefined while its page is not loaded. */
interface WindowRow {
  index: number;
  values: readonly unknown[] | undefined;
}

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, WindowRow>();

const ROW_HEIGHT = 32;
const HEADER_HEIGHT = 36;
/** Rows rendered beyond each edge of the viewport: enough that a wheel step rarely shows an empty band. */
const OVERSCAN = 12;

/** Pixel widths by kind: fixed, so the header and every row share one grid template without measuring. */
function columnWidth(column: GridColumn): number {
  const base = { number: 120, boolean: 90, time: 190, text: 200 }[column.kind];
  return Math.min(320, Math.max(base, column.name.length * 8 + 32));
}

/**
 * A grid of many rows (100,000 and more) that scrolls smoothly: only the rows in view (plus a margin) are in the
 * DOM, each at a fixed height, and their values are asked of `rowAt`, which answers undefined for a row not yet
 * loaded (a placeholder is shown). `onVisibleRangeChange` says which rows are wanted, so the owner can fetch the
 * pages that hold them.
 *
 * TanStack Table models the columns, headers and cells of the rows in view (its row model is built from the
 * window, never from the whole set); TanStack Virtual decides the window. The markup is an ARIA table: the screen
 * reader hears the full row count (aria-rowcount) and each row's position (aria-rowindex), and the scroll area is
 * focusable, so arrow keys and Page Down scroll it. Values are rendered as text (lib/cells.tsx), never HTML.
 */
export function DataGrid({
  label,
  columns,
  rowCount,
  rowAt,
  onVisibleRangeChange,
  maxHeight = '60vh',
}: {
  label: string;
  columns: readonly GridColumn[];
  rowCount: number;
  rowAt: (index: number) => readonly unknown[] | undefined;
  onVisibleRangeChange?: (first: number, last: number) => void;
  /** The scroll area's height when the rows need more (a CSS length); a few rows take only their own height. */
  maxHeight?: string;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rowCount,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    // The sticky header sits above the first row inside the scroll area.
    paddingStart: HEADER_HEIGHT,
    overscan: OVERSCAN,
    // Let React batch the renders of a burst of scroll events instead of rendering each one synchronously.
    useFlushSync: false,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? -1;

  useEffect(() => {
    if (last >= first) onVisibleRangeChange?.(first, last);
  }, [first, last, onVisibleRangeChange]);

  const tableColumns = useMemo(
    () =>
      columns.map((column, i) =>
        helper.accessor((row: WindowRow) => row.values?.[i], {
          id: `c${i}`,
          header: () => column.name,
          cell: (info) =>
            info.row.original.values ? (
              <Cell value={info.getValue()} kind={column.kind} />
            ) : (
              <span className="grid-placeholder" aria-hidden="true" />
            ),
        }),
      ),
    [columns],
  );
  const template = useMemo(() => columns.map((c) => `${columnWidth(c)}px`).join(' '), [columns]);
  // The rows in view (a few dozen), never the whole set. A row keeps its object while its values are the same,
  // so the rows already on screen are not rendered again as the window moves (GridRow is memoised on it).
  const windowRows = useRef(new Map<number, WindowRow>());
  const data: WindowRow[] = items.map((item) => {
    const values = rowAt(item.index);
    const known = windowRows.current.get(item.index);
    if (known && known.values === values) return known;
    const row = { index: item.index, values };
    windowRows.current.set(item.index, row);
    return row;
  });
  if (windowRows.current.size > 4 * data.length + 100) {
    const keep = new Set(data.map((r) => r.index));
    for (const index of windowRows.current.keys()) if (!keep.has(index)) windowRows.current.delete(index);
  }
  const table = useTable({ features, columns: tableColumns, data, getRowId: (row) => String(row.index) });

  const starts = new Map(items.map((item) => [item.index, item.start]));

  return (
    <div
      ref={scrollRef}
      className="data-grid-scroll"
      // 2 px: the area's borders, so a short grid shows every row without a scrollbar.
      style={{ height: `min(${maxHeight}, ${HEADER_HEIGHT + rowCount * ROW_HEIGHT + 2}px)` }}
      tabIndex={0}
      role="region"
      aria-label={`${label}: scroll with the arrow keys, Page Up and Page Down`}
    >
      <div
        className="data-grid"
        role="table"
        aria-label={label}
        aria-rowcount={rowCount + 1}
        aria-colcount={columns.length}
        style={{ height: virtualizer.getTotalSize() }}
      >
        <div role="rowgroup" className="data-grid-head">
          {table.getHeaderGroups().map((group) => (
            <div
              key={group.id}
              role="row"
              aria-rowindex={1}
              className="data-grid-row"
              style={{ gridTemplateColumns: template, height: HEADER_HEIGHT }}
            >
              {group.headers.map((header, i) => (
                <div
                  key={header.id}
                  role="columnheader"
                  className={columns[i]?.kind === 'number' ? 'data-grid-cell num' : 'data-grid-cell'}
                  title={columns[i]?.name}
                >
                  <table.FlexRender header={header} />
                </div>
              ))}
            </div>
          ))}
        </div>
        <div role="rowgroup">
          {table.getRowModel().rows.map((row) => (
            <GridRow
              key={row.id}
              original={row.original}
              start={starts.get(row.original.index) ?? 0}
              template={template}
              cells={() =>
                row.getAllCells().map((cell, i) => (
                  <div
                    key={cell.id}
                    role="cell"
                    className={columns[i]?.kind === 'number' ? 'data-grid-cell num' : 'data-grid-cell'}
                  >
                    <table.FlexRender cell={cell} />
                  </div>
                ))
              }
            />
          ))}
        </div>
      </div>
    </div>
  );
}

/**
 * One body row, placed at its offset. Memoised on the row's values object, offset and column template: when the
 * window moves by a row, only the rows entering it render (`cells` is called only for them).
 */
const GridRow = memo(
  function GridRow({
    original,
    start,
    template,
    cells,
  }: {
    original: WindowRow;
    start: number;
    template: string;
    cells: () => ReactNode;
  }) {
    const style: CSSProperties = {
      gridTemplateColumns: template,
      height: ROW_HEIGHT,
      transform: `translateY(${start}px)`,
    };
    return (
      <div
        role="row"
        aria-rowindex={original.index + 2}
        aria-busy={original.values ? undefined : true}
        className={original.index % 2 ? 'data-grid-row data-grid-body-row odd' : 'data-grid-row data-grid-body-row'}
        style={style}
      >
        {cells()}
      </div>
    );
  },
  (a, b) => a.original === b.original && a.start === b.start && a.template === b.template,
);
