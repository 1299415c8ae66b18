import { api, call } from '../../../api/client';
import { Empty } from '../../../ui/states';
import type { DatasetTabProps } from '../types';
import { ChartCard } from './ChartCard';
import { isNumeric } from './columns';
import { SpecView } from './SpecView';
import { useChartSpec, useChartWidth } from './useChartSpec';

/** Pearson correlations of the numeric columns (the server takes the first 50), from /stats. */
export function CorrelationChart({ dataset, version }: DatasetTabProps) {
  const numeric = version.schema.filter(isNumeric).length;
  const [ref, width] = useChartWidth<HTMLDivElement>();
  // A square chart: about 70 px a column (room for the r labels) and the axes, within the room there is.
  const size = Math.min(width, 640, 160 + 70 * Math.min(numeric, 50));
  const spec = useChartSpec(
    ['correlation', dataset.id, version.id, size],
    () =>
      call(
        api.GET('/api/v1/datasets/{id}/stats', {
          params: {
            path: { id: dataset.id },
            query: { version: version.id, format: 'vega-lite', width: size, height: size, title: '' },
          },
        }),
      ),
    numeric >= 2 && size > 0,
  );
  return (
    <ChartCard title="Correlation">
      <div ref={ref} className="chart-slot">
        {numeric < 2 ? (
          <Empty title="A correlation needs at least two numeric columns" />
        ) : (
          <SpecView
            query={spec}
            label="Pearson correlation r of each pair of numeric columns: from −1 (red, opposite) through 0 to +1 (blue, together)"
            table={[
              { field: 'y', label: 'Row' },
              { field: 'x', label: 'Column' },
              { field: 'label', label: 'r' },
            ]}
          />
        )}
      </div>
    </ChartCard>
  );
}
