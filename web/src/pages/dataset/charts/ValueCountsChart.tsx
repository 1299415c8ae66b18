import { api, call } from '../../../api/client';
import { SelectField } from '../../../ui/controls';
import { Empty } from '../../../ui/states';
import { formatNumber } from '../../../lib/format';
import { useUrlState } from '../../../lib/url-state';
import type { DatasetTabProps } from '../types';
import { ChartCard } from './ChartCard';
import { columnOptions, isScalar, pick } from './columns';
import { SpecView } from './SpecView';
import { useChartSpec, useChartWidth } from './useChartSpec';

const LIMIT = 15;
/** Room for LIMIT bars of about 20 px and the axes. */
const HEIGHT = 380;

/** The most frequent values of any column of single values; text columns first, they are what this chart is for. */
export function ValueCountsChart({ dataset, version }: DatasetTabProps) {
  const columns = version.schema.filter(isScalar);
  const preferred = columns.find((c) => /^(VARCHAR|TEXT|STRING|BOOLEAN|ENUM)/i.test(c.type))?.name ?? '';
  const [url, setUrl] = useUrlState({ counts: '' });
  const column = pick(columns, url.counts || preferred);
  const [ref, width] = useChartWidth<HTMLDivElement>();
  const spec = useChartSpec(
    ['value-counts', dataset.id, version.id, column, width],
    () =>
      call(
        api.GET('/api/v1/datasets/{id}/value-counts', {
          params: {
            path: { id: dataset.id },
            query: { version: version.id, column, limit: LIMIT, format: 'vega-lite', width, height: HEIGHT, title: '' },
          },
        }),
      ),
    column !== '' && width > 0,
  );
  return (
    <ChartCard
      title="Value counts"
      controls={
        columns.length > 0 && (
          <SelectField
            label="Column"
            value={column}
            options={columnOptions(columns)}
            onChange={(e) => setUrl({ counts: e.target.value })}
          />
        )
      }
    >
      <div ref={ref} className="chart-slot">
        {columns.length === 0 ? (
          <Empty title="No column of single values to count" />
        ) : (
          <SpecView
            query={spec}
            label={`The ${LIMIT} most frequent values of ${column} and their row counts`}
            table={[
              { field: 'label', label: 'Value' },
              { field: 'count', label: 'Rows', format: (v) => formatNumber(v as number) },
            ]}
          />
        )}
      </div>
    </ChartCard>
  );
}
