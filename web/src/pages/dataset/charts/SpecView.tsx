import type { UseQueryResult } from '@tanstack/react-query';
import { ErrorState, Loading } from '../../../ui/states';
import { VegaChart, type VegaChartProps, type VegaLiteSpec } from '../../../ui/VegaChart';

/** A spec query's states, then its chart: the previous chart stays while a new spec loads (marked busy). */
export function SpecView({ query, ...chart }: { query: UseQueryResult<VegaLiteSpec> } & Omit<VegaChartProps, 'spec'>) {
  if (query.isPending) return <Loading label="Loading the chart…" />;
  if (query.error || !query.data)
    return <ErrorState error={query.error} title="The chart could not be loaded" retry={() => void query.refetch()} />;
  return (
    <div className="chart-body" aria-busy={query.isFetching || undefined}>
      <VegaChart spec={query.data} {...chart} />
    </div>
  );
}
