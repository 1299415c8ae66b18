import type { TopLevelSpec } from 'vega-lite';
import { errors } from '../errors.js';
import { timeAxis } from './time-axis.js';

/**
 * Vega-Lite specs for the analytics charts. Each spec is self-contained (data inlined as `data.values`) so that a
 * client can render it as is and the server can render it to SVG without loading anything.
 *
 * Column names are user text, and two places of a spec would interpret it:
 * - Vega-Lite reads a `field` as a path (`a.b`, `a[0]`, `a\.b`), so data sits under fixed field names;
 * - Vega-Lite builds the tooltip and ARIA-description expressions from the encoding titles, escaping `"` but not
 *   `\` (vega-lite 6.4), so a title can break out of its string literal into expression code. Encoding titles are
 *   therefore fixed words, and a column name is only ever an axis title (`axis.title`, a plain string in the
 *   compiled Vega spec), the chart title, or a data value.
 */

export type ChartData =
  | {
      kind: 'histogram';
      column: string;
      bins: { start: number; end: number; count: number }[];
      /** The bin edges are epoch milliseconds of a time column: a UTC time axis instead of a number axis. */
      temporal?: boolean;
    }
  | { kind: 'value-counts'; column: string; values: { value: string | null; count: number }[] }
  | {
      kind: 'timeseries';
      time: string;
      value: string;
      agg: string;
      /**
       * `time` is ISO 8601; one without a UTC offset is read as UTC. Charts show UTC whatever the server's zone.
       * `series`: the value of the split column the point belongs to (with `series` below), null for null.
       */
      points: { time: string; value: number | null; series?: string | null }[];
      band?: { time: string; min: number | null; max: number | null; series?: string | null }[];
      /** One line per value of this column, in the order of `keys` (legend and colours). */
      series?: { column: string; keys: (string | null)[] };
    }
  | {
      kind: 'correlation';
      columns: string[];
      matrix: (number | null)[][]; /* Pearson r, symmetric, null where undefined */
    };

export interface ChartOptions {
  title?: string;
  /** Whole chart in px, axes and title included. */
  width?: number;
  height?: number;
}

/** A complete Vega-Lite spec, plain JSON. */
export type VegaLiteSpec = Record<string, unknown>;

/** Matches the installed vega-lite major (package.json). */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Chart size bounds in px; routes reuse them in their query schemas. */
export const CHART_SIZE = { min: 100, max: 4000, defaultWidth: 640, defaultHeight: 320 } as const;

/** Callers cap their queries at 10,000 points; this bound keeps a caller bug from building a huge spec. */
export const MAX_CHART_ROWS = 20_000;

/** Names the layers that only carry tooltips: a static rendering leaves them out (see svg.ts). */
export const TOOLTIP_LAYER = 'tooltips';

/** The label a null category gets on the value-counts axis and in a series legend. */
export const NULL_LABEL = '(null)';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
export const ACCENT = '#4c78a8';
export const MUTED = '#9aa5b1';

export const CHART_PADDING = 8;

/** A quiet house style: white background (the SVG is also opened on its own), light grid, no frame. */
export const CHART_CONFIG = {
  background: 'white',
  font: FONT,
  padding: CHART_PADDING,
  view: { stroke: null },
  title: { anchor: 'start', fontSize: 14, fontWeight: 600, color: '#1f2933', offset: 12 },
  axis: {
    labelColor: '#52606d',
    titleColor: '#323f4b',
    titleFontWeight: 600,
    domainColor: '#9aa5b1',
    tickColor: '#9aa5b1',
    gridColor: '#e4e7eb',
    labelLimit: 180,
  },
  legend: { labelColor: '#52606d', titleColor: '#323f4b' },
} as const;

function chartSize(options: ChartOptions): { width: number; height: number } {
  const size = { width: options.width ?? CHART_SIZE.defaultWidth, height: options.height ?? CHART_SIZE.defaultHeight };
  for (const [name, px] of Object.entries(size)) {
    if (!Number.isInteger(px) || px < CHART_SIZE.min || px > CHART_SIZE.max) {
      const message = `must be an integer from ${CHART_SIZE.min} to ${CHART_SIZE.max}`;
      throw errors.validation(`Chart ${name} ${message}`, [{ pointer: `/query/${name}`, message }]);
    }
  }
  return size;
}

function checkRowCount(rows: number): void {
  if (rows > MAX_CHART_ROWS) throw new Error(`vegaLiteSpec: ${rows} data rows exceed the limit of ${MAX_CHART_ROWS}`);
}

/**
 * The Vega-Lite spec of a chart: `width`/`height` are the size of the whole chart (autosize `fit`). A title longer
 * than the chart is wide is cut with an ellipsis; an empty one is none.
 */
export function vegaLiteSpec(chart: ChartData, options: ChartOptions = {}): VegaLiteSpec {
  const size = chartSize(options);
  const frame = {
    $schema: VEGA_LITE_SCHEMA,
    ...(options.title ? { title: { text: options.title, limit: size.width - 2 * CHART_PADDING } } : {}),
    ...size,
    autosize: { type: 'fit', contains: 'padding' },
    config: CHART_CONFIG,
  } as const;
  const spec: TopLevelSpec = { ...frame, ...body(chart, size.width) };
  // Handed on as plain JSON: the Vega-Lite types have no index signature, so the cast goes through unknown.
  return spec as unknown as VegaLiteSpec;
}

type LayeredSpec = Extract<TopLevelSpec, { layer: unknown }>;
type Layer = LayeredSpec['layer'][number];
type Body = Omit<LayeredSpec, 'width' | 'height'> | Omit<Extract<TopLevelSpec, { mark: unknown }>, 'width' | 'height'>;

/** `width`: of the whole chart, which the time axes space their labels in. */
function body(chart: ChartData, width: number): Body {
  switch (chart.kind) {
    case 'histogram':
      return histogram(chart, width);
    case 'value-counts':
      return valueCounts(chart);
    case 'timeseries':
      return timeseries(chart, width);
    case 'correlation':
      return correlation(chart);
  }
}

const COUNT_FIELD = { field: 'count', type: 'quantitative', title: 'Count' } as const;
/** Counts are whole numbers: no tick at 0.5 on a short axis. */
const COUNT_AXIS = { ...COUNT_FIELD, axis: { tickMinStep: 1 } } as const;

/** An axis titled by user text; see the top of this file for why the title is not the encoding's. */
const axisTitled = (title: string) => ({ axis: { title } }) as const;

/** Room the y axis and the padding take from the chart's width, which is what the time axis has for its labels. */
const Y_AXIS_PX = 70;

/**
 * A UTC time axis over [loMs, hiMs] titled by the column (and the day, when the labels are its hours); see
 * time-axis.ts. Without data, Vega's defaults. The labels are formatted by an expression, not `format`: on a binned
 * axis Vega-Lite also hands `format` to a number formatter, which fails; the expression holds only the fixed format.
 */
function utcAxis(title: string, loMs: number, hiMs: number, width: number) {
  if (!Number.isFinite(loMs) || !Number.isFinite(hiMs)) return { title };
  const axis = timeAxis(loMs, hiMs, width - Y_AXIS_PX);
  const labelExpr = `utcFormat(datum.value, '${axis.format}')`;
  return {
    title: axis.day ? `${title} (${axis.day})` : title,
    values: axis.values,
    labelExpr,
    labelOverlap: true,
  } as const;
}

function histogram(chart: Extract<ChartData, { kind: 'histogram' }>, width: number): Body {
  checkRowCount(chart.bins.length);
  const edge = chart.temporal
    ? ({ type: 'temporal', scale: { type: 'utc' } } as const)
    : ({ type: 'quantitative' } as const);
  const edgeTooltip = chart.temporal ? ({ format: '%Y-%m-%d %H:%M:%S', formatType: 'utc' } as const) : {};
  const axis = chart.temporal
    ? {
        axis: utcAxis(
          chart.column,
          Math.min(...chart.bins.map((b) => b.start)),
          Math.max(...chart.bins.map((b) => b.end)),
          width,
        ),
      }
    : axisTitled(chart.column);
  return {
    data: { values: chart.bins.map(({ start, end, count }) => ({ start, end, count })) },
    mark: { type: 'bar', color: ACCENT, binSpacing: 1 },
    encoding: {
      // `binned`: the bins come computed; Vega-Lite only draws them and puts the axis ticks on their edges.
      x: { field: 'start', ...edge, bin: { binned: true }, title: 'Range', ...axis },
      x2: { field: 'end' },
      y: COUNT_AXIS,
      tooltip: [
        { field: 'start', type: edge.type, ...edgeTooltip, title: 'From' },
        { field: 'end', type: edge.type, ...edgeTooltip, title: 'To' },
        { ...COUNT_FIELD, format: ',' },
      ],
    },
  };
}

/**
 * Bars in the caller's order after a stable sort by count (descending), so ties keep the order the query gave and
 * the chart is the same on every render. `isNull` lets the null bar be told apart by colour, not only by its label.
 */
function valueCounts(chart: Extract<ChartData, { kind: 'value-counts' }>): Body {
  checkRowCount(chart.values.length);
  const rows = chart.values
    .map(({ value, count }) => ({ label: value ?? NULL_LABEL, isNull: value === null, count }))
    .sort((a, b) => b.count - a.count);
  return {
    data: { values: rows },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: 'Value', ...axisTitled(chart.column) },
      x: COUNT_AXIS,
      color: { condition: { test: 'datum.isNull', value: MUTED }, value: ACCENT },
      tooltip: [
        { field: 'label', type: 'nominal', title: 'Value' },
        { ...COUNT_FIELD, format: ',' },
      ],
    },
  };
}

const TIME_OF_DAY = /[T ]\d{2}:\d{2}/;
const NUMERIC_OFFSET = /([+-]\d{2}):?(\d{2})?$/;

/**
 * Timestamps as DuckDB prints them (`2024-01-01 10:00:00`, `2024-01-01 10:00:00+02`) into the ISO form with `Z`
 * that Vega reads the same everywhere. A zoneless timestamp is taken as UTC: JavaScript would read it in the zone
 * of whoever renders the chart.
 */
export function utcIso(time: string): string {
  let iso = time.trim().replace(' ', 'T');
  // A date without a time of day is UTC in JavaScript already.
  if (TIME_OF_DAY.test(time) && !/Z$/i.test(iso)) {
    iso = NUMERIC_OFFSET.test(iso)
      ? iso.replace(NUMERIC_OFFSET, (_all, hours: string, minutes?: string) => `${hours}:${minutes ?? '00'}`)
      : `${iso}Z`;
  }
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`vegaLiteSpec: '${time}' is not an ISO 8601 timestamp`);
  return new Date(ms).toISOString();
}

/** Up to 10 series the default palette tells apart; up to 20 (the most a series split answers), its paired one. */
const seriesScheme = (count: number) => (count > 10 ? 'tableau20' : 'tableau10');

/**
 * A line over its band (the bucket's min and max) when aggregated; with `series`, one coloured line (and band) per
 * series and a legend titled by the split column. The value axis fits the data, not zero: a line's level is its
 * message, and 8–30 drawn from 0 is a flat line (bars, whose length is the message, keep zero).
 */
function timeseries(chart: Extract<ChartData, { kind: 'timeseries' }>, width: number): Body {
  const band = chart.band ?? [];
  checkRowCount(chart.points.length + band.length);
  const split = chart.series;
  const label = (key: string | null | undefined) => (key === null ? NULL_LABEL : key);
  const times = chart.points.map((p) => Date.parse(utcIso(p.time)));
  // The `utc` scale makes Vega-Lite place ticks and format labels in UTC, not in the renderer's local zone.
  const x = {
    field: 'time',
    type: 'temporal',
    scale: { type: 'utc' },
    title: 'Time',
    axis: utcAxis(chart.time, Math.min(...times), Math.max(...times), width),
  } as const;
  // Aggregated (a band comes with buckets): `mean(temperature)`; the rows themselves: just the column.
  const y = {
    type: 'quantitative',
    title: 'Value',
    scale: { zero: false },
    ...axisTitled(chart.band ? `${chart.agg}(${chart.value})` : chart.value),
  } as const;
  const timeTooltip = {
    field: 'time',
    type: 'temporal',
    title: 'Time (UTC)',
    format: '%Y-%m-%d %H:%M:%S',
    formatType: 'utc',
  } as const;
  // The legend's title is the split column; the encoding's stays a fixed word (see the top of this file).
  const color = split
    ? ({
        color: {
          field: 'series',
          type: 'nominal',
          title: 'Series',
          sort: null,
          scale: { domain: split.keys.map(label), scheme: seriesScheme(split.keys.length) },
          // Line swatches: the band layer would make them its pale areas.
          legend: { title: split.column, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 2 },
        },
      } as const)
    : {};
  const seriesTooltip = split ? [{ field: 'series', type: 'nominal', title: 'Series' } as const] : [];
  const withSeries = <T extends { series?: string | null }>(row: T) => (split ? { series: label(row.series) } : {});
  const bandLayer: Layer = {
    data: { values: band.map((b) => ({ time: utcIso(b.time), min: b.min, max: b.max, ...withSeries(b) })) },
    mark: { type: 'area', color: ACCENT, opacity: split ? 0.12 : 0.18 },
    encoding: {
      x,
      y: { ...y, field: 'min', title: 'Min' },
      y2: { field: 'max' },
      ...color,
      tooltip: [
        timeTooltip,
        ...seriesTooltip,
        { field: 'min', type: 'quantitative', title: 'Min' },
        { field: 'max', type: 'quantitative', title: 'Max' },
      ],
    },
  };
  const lineLayer: Layer = {
    mark: { type: 'line', color: ACCENT, strokeWidth: split ? 1.5 : 2, interpolate: 'monotone' },
    encoding: { x, y: { ...y, field: 'value' }, ...color },
  };
  // Invisible points carry the tooltips: a line is one path and would only ever show its first row.
  const hoverLayer: Layer = {
    name: TOOLTIP_LAYER,
    // aria: false — the line already describes the series.
    mark: { type: 'point', opacity: 0, size: 60, aria: false },
    encoding: {
      x,
      y: { ...y, field: 'value' },
      ...color,
      tooltip: [timeTooltip, ...seriesTooltip, { field: 'value', type: 'quantitative', title: 'Value' }],
    },
  };
  return {
    data: { values: chart.points.map((p) => ({ time: utcIso(p.time), value: p.value, ...withSeries(p) })) },
    layer: chart.band === undefined ? [lineLayer, hoverLayer] : [bandLayer, lineLayer, hoverLayer],
  };
}

/** Cells row by row; `label` is formatted here so that no expression has to handle null. */
function correlation(chart: Extract<ChartData, { kind: 'correlation' }>): Body {
  const n = chart.columns.length;
  checkRowCount(n * n);
  if (chart.matrix.length !== n || chart.matrix.some((row) => row.length !== n)) {
    throw new Error(`vegaLiteSpec: the correlation matrix must be ${n}×${n}`);
  }
  const cells = chart.columns.flatMap((y, i) =>
    chart.columns.map((x, j) => {
      const r = chart.matrix[i]?.[j] ?? null;
      // `|| 0` turns a rounded -0 into 0, so a tiny negative r does not read "-0.00".
      return { x, y, r, label: r === null ? '–' : (Math.round(r * 100) / 100 || 0).toFixed(2) };
    }),
  );
  // sort: null keeps the columns in the caller's order (the order of first appearance in the data).
  const nominal = { type: 'nominal', sort: null } as const;
  return {
    data: { values: cells },
    encoding: {
      x: { ...nominal, field: 'x', title: 'Column', axis: { title: null, labelAngle: -40, orient: 'top' } },
      y: { ...nominal, field: 'y', title: 'Row', axis: { title: null } },
    },
    layer: [
      {
        // `show` keeps the null cells, which the scale paints with its `invalid` colour below.
        mark: { type: 'rect', invalid: 'show' },
        encoding: {
          color: {
            field: 'r',
            type: 'quantitative',
            title: 'r',
            scale: { scheme: 'redblue', domain: [-1, 1], domainMid: 0 },
            legend: { gradientLength: 120 },
          },
          tooltip: [
            { field: 'y', type: 'nominal', title: 'Row' },
            { field: 'x', type: 'nominal', title: 'Column' },
            { field: 'label', type: 'nominal', title: 'r' },
          ],
        },
      },
      {
        // aria: false — the cell under the text already carries the same description.
        mark: { type: 'text', fontSize: 11, aria: false },
        encoding: {
          text: { field: 'label', type: 'nominal' },
          // Dark cells get white text; null `r` stays dark (abs(null) is 0).
          color: { condition: { test: 'abs(datum.r) > 0.6', value: 'white' }, value: '#1f2933' },
        },
      },
    ],
    config: {
      ...CHART_CONFIG,
      scale: { invalid: { color: { value: '#e4e7eb' } } },
      axis: { ...CHART_CONFIG.axis, grid: false, domain: false, ticks: false },
    },
  };
}
