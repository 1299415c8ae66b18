import { useQueries } from '@tanstack/react-query';
import { useCallback, useMemo, useState } from 'react';
import { api, call } from '../../api/client';
import { cellKind } from '../../lib/cells';
import { formatNumber } from '../../lib/format';
import { DataGrid, type GridColumn } from '../../ui/DataGrid';
import { Empty, ErrorState } from '../../ui/states';
import { datasetKeys } from './queries';
import type { DatasetTabProps } from './types';

/** Rows per request: small enough to answer in a few milliseconds, large enough that a screen needs one or two. */
export const PREVIEW_PAGE_ROWS = 500;

/**
 * Every row of the version, in a virtualised grid. Pages of rows are fetched as they come into view and cached by
 * TanStack Query (per version: a stored version never changes); a page that leaves the view before it arrives is
 * cancelled, so a fast scroll to the end does not queue up every page on the way.
 */
export default function PreviewTab({ dataset, version }: DatasetTabProps) {
  const [pages, setPages] = useState<{ first: number; last: number }>({ first: 0, last: 0 });
  const onVisibleRangeChange = useCallback((firstRow: number, lastRow: number) => {
    const first = Math.floor(firstRow / PREVIEW_PAGE_ROWS);
    const last = Math.floor(lastRow / PREVIEW_PAGE_ROWS);
    setPages((p) => (p.first === first && p.last === last ? p : { first, last }));
  }, []);

  const wanted = useMemo(() => {
    const list: number[] = [];
    for (let page = pages.first; page <= pages.last; page++) list.push(page);
    return list;
  }, [pages]);

  const results = useQueries({
    queries: wanted.map((page) => ({
      queryKey: datasetKeys.previewPage(dataset.id, version.id, page),
      staleTime: Infinity,
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        call(
          api.GET('/api/v1/datasets/{id}/preview', {
            params: {
              path: { id: dataset.id },
              query: { offset: page * PREVIEW_PAGE_ROWS, limit: PREVIEW_PAGE_ROWS, version: version.id },
            },
            signal,
          }),
        ),
    })),
  });

  const loaded = new Map<number, readonly (readonly unknown[])[]>();
  results.forEach((r, i) => {
    const page = wanted[i];
    if (r.data && page !== undefined) loaded.set(page, r.data.rows);
  });
  const rowAt = (index: number) => loaded.get(Math.floor(index / PREVIEW_PAGE_ROWS))?.[index % PREVIEW_PAGE_ROWS];
  const failed = results.find((r) => r.error);

  const columns = useMemo<GridColumn[]>(
    () => version.schema.map((c) => ({ name: c.name, kind: cellKind(c.type) })),
    [version.schema],
  );

  if (version.rowCount === 0 || columns.length === 0)
    return <Empty title="No rows">This version has no rows to preview.</Empty>;
  return (
    <div className="stack">
      {failed && (
        <ErrorState error={failed.error} title="Rows could not be loaded" retry={() => void failed.refetch()} />
      )}
      <p className="muted" style={{ margin: 0 }}>
        {formatNumber(version.rowCount)} rows × {formatNumber(columns.length)} columns of version {version.number}
      </p>
      <DataGrid
        label={`Rows of ${dataset.name}, version ${version.number}`}
        columns={columns}
        rowCount={version.rowCount}
        rowAt={rowAt}
        onVisibleRangeChange={onVisibleRangeChange}
      />
    </div>
  );
}
