import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../../api/client';
import { cellKind, formatCell } from '../../../lib/cells';
import { formatNumber, formatPercent } from '../../../lib/format';
import { Badge } from '../../../ui/controls';
import type { DatasetTabProps } from '../types';
import { MiniHistogram, TopValues } from './MiniBars';

export type Profile = Awaited<ReturnType<typeof fetchProfile>>;
export type ColumnStats = Profile['columns'][number];

export function fetchProfile(datasetId: string, versionId: string) {
  return call(
    api.GET('/api/v1/datasets/{id}/profile', { params: { path: { id: datasetId }, query: { version: versionId } } }),
  );
}

const TOP_VALUES = 5;
/** Values longer than this do not fit half a card. */
const WIDE_CHARS = 12;
const TIME_BINS = 20;

/** A profile value as text: numbers formatted, instants as the grid shows them, anything else as it is. */
function show(value: unknown, type: string): string {
  if (value === null || value === undefined) return '—';
  return formatCell(value, cellKind(type)) || '—';
}

/** One column's profile: counts, range, moments, and its distribution drawn small. */
export function ColumnProfile({
  column,
  rows,
  dataset,
  version,
}: { column: ColumnStats; rows: number } & DatasetTabProps) {
  const kind = cellKind(column.type);
  const stats: [string, string][] = [
    ['Values', formatNumber(column.count)],
    ['Nulls', `${formatNumber(column.nulls)}${rows > 0 ? ` (${formatPercent(column.nulls / rows)})` : ''}`],
    ['Distinct', `${column.distinctExact ? '' : '≈ '}${formatNumber(column.distinctEstimate)}`],
    ['Min', show(column.range?.min ?? column.min, column.type)],
    ['Max', show(column.range?.max ?? column.max, column.type)],
  ];
  if (column.mean !== null) stats.push(['Mean', formatNumber(column.mean)]);
  if (column.quantiles) stats.push(['Median', formatNumber(column.quantiles.p50)]);
  if (column.stddev !== null) stats.push(['Std dev', formatNumber(column.stddev)]);

  return (
    <article className="card profile-column" aria-label={`Column ${column.name}`}>
      <header className="profile-column-header">
        <h3 className="profile-column-name" title={column.name}>
          {column.name}
        </h3>
        <Badge>{column.type}</Badge>
      </header>
      <dl className="profile-stats">
        {stats.map(([term, value]) => (
          // A long value (an instant, a long text) takes the whole row rather than being cut.
          <div key={term} className={value.length > WIDE_CHARS ? 'wide' : undefined}>
            <dt>{term}</dt>
            <dd className={kind === 'number' ? 'num' : undefined}>{value}</dd>
          </div>
        ))}
      </dl>
      <Distribution column={column} rows={rows} dataset={dataset} version={version} />
    </article>
  );
}

function Distribution({ column, rows, dataset, version }: { column: ColumnStats; rows: number } & DatasetTabProps) {
  if (column.histogram && column.histogram.length > 0) {
    const bins = column.histogram;
    return (
      <MiniHistogram
        counts={bins.map((b) => b.count)}
        label={histogramLabel(
          column.name,
          bins.length,
          formatNumber(bins[0]!.start),
          formatNumber(bins.at(-1)!.end),
          bins,
        )}
      />
    );
  }
  if (column.topValues && column.topValues.length > 0)
    return <TopValues values={column.topValues.slice(0, TOP_VALUES)} rows={rows} />;
  if (/^(TIMESTAMP|DATE$)/i.test(column.type) && column.count > 0)
    return <TimeHistogram column={column} dataset={dataset} version={version} />;
  return null;
}

/** The profile has no histogram of a time column: the histogram endpoint bins it. */
function TimeHistogram({ column, dataset, version }: { column: ColumnStats } & DatasetTabProps) {
  const histogram = useQuery({
    queryKey: ['histogram', dataset.id, version.id, column.name, TIME_BINS],
    queryFn: () =>
      call(
        api.GET('/api/v1/datasets/{id}/histogram', {
          params: {
            path: { id: dataset.id },
            query: { version: version.id, column: column.name, bins: TIME_BINS, format: 'json' },
          },
        }),
      ),
    staleTime: 60_000,
  });
  const bins = histogram.data?.bins;
  if (!bins || bins.length === 0)
    return histogram.error ? <p className="muted">No histogram: {(histogram.error as Error).message}</p> : null;
  return (
    <MiniHistogram
      counts={bins.map((b) => b.count)}
      label={histogramLabel(
        column.name,
        bins.length,
        show(bins[0]!.start, column.type),
        show(bins.at(-1)!.end, column.type),
        bins,
      )}
    />
  );
}

function histogramLabel(name: string, count: number, from: string, to: string, bins: { count: number }[]): string {
  const fullest = Math.max(...bins.map((b) => b.count));
  return `Histogram of ${name}: ${count} bins from ${from} to ${to}; the fullest holds ${formatNumber(fullest)} rows`;
}
