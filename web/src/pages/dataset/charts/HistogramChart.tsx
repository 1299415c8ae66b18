import { api, call } from '../../../api/client';
import { SelectField } from '../../../ui/controls';
import { Empty } from '../../../ui/states';
import { formatNumber } from '../../../lib/format';
import { useUrlState } from '../../../lib/url-state';
import type { DatasetTabProps } from '../types';
import { ChartCard } from './ChartCard';
import { columnOptions, isNumeric, isTemporal, pick } from './columns';
import { SpecView } from './SpecView';
import { useChartSpec, useChartWidth } from './useChartSpec';

const BINS = 20;
const HEIGHT = 280;

const edge = (value: unknown) => (typeof value === 'number' ? formatNumber(value) : String(value ?? '—'));

/** Equal-width bins of a numeric, timestamp or date column. */
export function HistogramChart({ dataset, version }: DatasetTabProps) {
  // Numbers first: they are what a histogram is usually asked of.
  const columns = [...version.schema.filter(isNumeric), ...version.schema.filter(isTemporal)];
  const [url, setUrl] = useUrlState({ hist: '' });
  const column = pick(columns, url.hist);
  const [ref, width] = useChartWidth<HTMLDivElement>();
  const spec = useChartSpec(
    ['histogram', dataset.id, version.id, column, width],
    () =>
      call(
        api.GET('/api/v1/datasets/{id}/histogram', {
          params: {
            path: { id: dataset.id },
            query: { version: version.id, column, bins: BINS, format: 'vega-lite', width, height: HEIGHT, title: '' },
          },
        }),
      ),
    column !== '' && width > 0,
  );
  return (
    <ChartCard
      title="Histogram"
      controls={
        columns.length > 0 && (
          <SelectField
            label="Column"
            value={column}
            options={columnOptions(columns)}
            onChange={(e) => setUrl({ hist: e.target.value })}
          />
        )
      }
    >
      <div ref={ref} className="chart-slot">
        {columns.length === 0 ? (
          <Empty title="No numeric, timestamp or date column to draw a histogram of" />
        ) : (
          <SpecView
            query={spec}
            label={`Histogram of ${column}: rows per range of values, in ${BINS} equal-width bins`}
            table={[
              { field: 'start', label: 'From', format: edge },
              { field: 'end', label: 'To', format: edge },
              { field: 'count', label: 'Rows', format: edge },
            ]}
          />
        )}
      </div>
    </ChartCard>
  );
}
