import type { ChartData } from './charts.js';
import type { Histogram } from './histogram.js';
import type { Correlation } from './stats.js';
import type { Timeseries } from './timeseries.js';
import type { ValueCounts } from './value-counts.js';

/** The JSON answers of the chart endpoints as the chart module draws them. */

/** Temporal bin edges (ISO 8601 in JSON) become epoch milliseconds, the numbers a time axis takes. */
const edge = (v: number | string): number => (typeof v === 'number' ? v : Date.parse(v));

/** Bins of a timestamp or date column have ISO edges: drawn on a UTC time axis, not as epoch milliseconds. */
export const histogramChart = (h: Histogram): ChartData => ({
  kind: 'histogram', column: h.column, bins: h.bins.map((b) => ({ start: edge(b.start), end: edge(b.end), count: b.count })),
  temporal: h.bins.some((b) => typeof b.start === 'string'),
});

export const valueCountsChart = (v: ValueCounts): ChartData => ({ kind: 'value-counts', column: v.column, values: v.values });

export const timeseriesChart = (t: Timeseries): ChartData => ({
  kind: 'timeseries', time: t.time, value: t.value, agg: t.agg, points: t.points, ...(t.band ? { band: t.band } : {}),
});

export const correlationChart = (c: Correlation): ChartData => ({ kind: 'correlation', columns: c.columns, matrix: c.matrix });
