import type { ChartData } from './charts.js';
import type { Histogram } from './histogram.js';
import type { Correlation } from './stats.js';
import type { Timeseries } from './timeseries.js';
import type { ValueCounts } from './value-counts.js';

/**
 * The JSON answers of the chart endpoints as the chart module draws them, and the title a chart gets when the
 * request names none: what is drawn, of which column, and the dataset.
 */

/** Temporal bin edges (ISO 8601 in JSON) become epoch milliseconds, the numbers a time axis takes. */
const edge = (v: number | string): number => (typeof v === 'number' ? v : Date.parse(v));

/** Bins of a timestamp or date column have ISO edges: drawn on a UTC time axis, not as epoch milliseconds. */
export const histogramChart = (h: Histogram): ChartData => ({
  kind: 'histogram',
  column: h.column,
  bins: h.bins.map((b) => ({ start: edge(b.start), end: edge(b.end), count: b.count })),
  temporal: h.bins.some((b) => typeof b.start === 'string'),
});

export const valueCountsChart = (v: ValueCounts): ChartData => ({
  kind: 'value-counts',
  column: v.column,
  values: v.values,
});

export const timeseriesChart = (t: Timeseries): ChartData => ({
  kind: 'timeseries',
  time: t.time,
  value: t.value,
  agg: t.agg,
  points: t.points,
  ...(t.band ? { band: t.band } : {}),
  ...(t.series ? { series: { column: t.series.column, keys: t.series.shown.map((s) => s.key) } } : {}),
});

export const correlationChart = (c: Correlation): ChartData => ({
  kind: 'correlation',
  columns: c.columns,
  matrix: c.matrix,
});

const AGGREGATE_NOUN: Record<Timeseries['agg'], string> = {
  mean: 'Mean',
  sum: 'Sum',
  min: 'Minimum',
  max: 'Maximum',
  count: 'Count',
};

const of = (title: string, dataset: string) => `${title} — ${dataset}`;

export const histogramTitle = (h: Histogram, dataset: string) => of(`Distribution of ${h.column}`, dataset);

export const valueCountsTitle = (v: ValueCounts, dataset: string) => of(`Most frequent values of ${v.column}`, dataset);

export const correlationTitle = (_c: Correlation, dataset: string) => of('Correlation of the numeric columns', dataset);

/**
 * `Mean of temperature per 1h by device (10 of 37) — sensors.csv`; without buckets, the rows themselves:
 * `temperature over ts — sensors.csv`.
 */
export function timeseriesTitle(t: Timeseries, dataset: string): string {
  const what = t.bucket ? `${AGGREGATE_NOUN[t.agg]} of ${t.value} per ${t.bucket}` : `${t.value} over ${t.time}`;
  const split = t.series
    ? ` by ${t.series.column}${t.series.omitted > 0 ? ` (${t.series.shown.length} of ${t.series.total})` : ''}`
    : '';
  return of(`${what}${split}`, dataset);
}
