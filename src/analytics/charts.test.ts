/**
 * Vega-Lite specs: each kind validates against the official schema shipped with vega-lite, compiles without a
 * warning, holds its data under fixed field names only, and carries the user's column names as titles only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, type TopLevelSpec } from 'vega-lite';
import { AppError } from '../errors.js';
import { CHART_SIZE, MAX_CHART_ROWS, utcIso } from './chart-specs.js';
import { type ChartData, VEGA_LITE_SCHEMA, vegaLiteSpec, type VegaLiteSpec } from './charts.js';

/** A name that would be a nested path if it were used as a field. */
const PATH_LIKE = 'price.usd[0]';

const CHARTS: Record<ChartData['kind'], ChartData> = {
  histogram: {
    kind: 'histogram',
    column: PATH_LIKE,
    bins: [
      { start: 0, end: 10, count: 5 },
      { start: 10, end: 20, count: 12 },
    ],
  },
  'value-counts': {
    kind: 'value-counts',
    column: PATH_LIKE,
    values: [
      { value: 'b', count: 3 },
      { value: null, count: 7 },
      { value: 'a', count: 10 },
      { value: 'c', count: 3 },
    ],
  },
  timeseries: {
    kind: 'timeseries',
    time: 'created.at',
    value: PATH_LIKE,
    agg: 'avg',
    points: [
      { time: '2024-01-01T00:00:00Z', value: 1.5 },
      { time: '2024-01-01 01:00:00', value: null },
    ],
    band: [{ time: '2024-01-01T00:00:00+02:00', min: 1, max: null }],
  },
  correlation: {
    kind: 'correlation',
    columns: ['a', PATH_LIKE],
    matrix: [
      [1, -0.004],
      [-0.004, null],
    ],
  },
};

/** A timeseries split by a column: two series and the null one, each with its band. */
const SPLIT: ChartData = {
  kind: 'timeseries',
  time: 'ts',
  value: 'temp',
  agg: 'mean',
  points: [
    { time: '2024-01-01T00:00:00Z', value: 8, series: 'b' },
    { time: '2024-01-02T00:00:00Z', value: 30, series: 'b' },
    { time: '2024-01-01T00:00:00Z', value: 12, series: PATH_LIKE },
    { time: '2024-01-01T00:00:00Z', value: 20, series: null },
  ],
  band: [{ time: '2024-01-01T00:00:00Z', min: 7, max: 9, series: 'b' }],
  series: { column: PATH_LIKE, keys: ['b', PATH_LIKE, null] },
};

let validate: ValidateFunction;

beforeAll(() => {
  const require = createRequire(import.meta.url);
  const schema: unknown = JSON.parse(readFileSync(require.resolve('vega-lite/vega-lite-schema.json'), 'utf8'));
  // Formats (uri, color-hex) are not checked by Ajv without ajv-formats; the structure is what matters here.
  validate = new Ajv({ strict: false, validateFormats: false, code: { optimize: false } }).compile(schema as object);
});

/** Every `field` anywhere in the spec. */
function fieldsOf(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => fieldsOf(item, found));
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'field' && typeof value === 'string') found.add(value);
      // Inline data holds user values, not encodings.
      else if (key !== 'data') fieldsOf(value, found);
    }
  }
  return found;
}

function compileWarnings(spec: VegaLiteSpec): string[] {
  const warnings: string[] = [];
  const record = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
    return logger;
  };
  const logger = { level: () => 2, error: record, warn: record, info: () => logger, debug: () => logger };
  compile(spec as unknown as TopLevelSpec, { logger });
  return warnings;
}

describe('vegaLiteSpec', () => {
  it('rejects a broken spec with the schema validator, so that the checks below can fail', () => {
    expect(validate({ mark: 'bar', data: { values: [] } })).toBe(true);
    expect(validate({ mark: 'bogus', data: { values: [] } })).toBe(false);
    const wrongType = { ...vegaLiteSpec(CHARTS.histogram), width: 'wide' };
    expect(validate(wrongType)).toBe(false);
  });

  it.each([...Object.values(CHARTS), SPLIT])(
    'makes a $kind spec that validates, compiles cleanly and keys data by fixed fields',
    (chart) => {
      const spec = vegaLiteSpec(chart, { title: 'T' });
      expect(validate(spec), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      expect(compileWarnings(spec)).toEqual([]);
      expect(spec.$schema).toBe(VEGA_LITE_SCHEMA);
      // A title longer than the chart is cut to its width less the padding.
      expect(spec.title).toEqual({ text: 'T', limit: CHART_SIZE.defaultWidth - 16 });
      expect(spec.autosize).toEqual({ type: 'fit', contains: 'padding' });
      const allowed = new Set([
        'start',
        'end',
        'count',
        'label',
        'time',
        'value',
        'min',
        'max',
        'x',
        'y',
        'r',
        'series',
      ]);
      for (const field of fieldsOf(spec)) expect(allowed, field).toContain(field);
      expect(JSON.stringify(spec)).toContain(PATH_LIKE);
    },
  );

  it('matches the installed vega-lite major in $schema', () => {
    const require = createRequire(import.meta.url);
    const { version } = JSON.parse(
      readFileSync(
        require.resolve('vega-lite/vega-lite-schema.json').replace(/build\/vega-lite-schema\.json$/, 'package.json'),
        'utf8',
      ),
    ) as { version: string };
    expect(VEGA_LITE_SCHEMA).toBe(`https://vega.github.io/schema/vega-lite/v${version.split('.')[0]}.json`);
  });

  it('draws a histogram from the given bins, titled by the column', () => {
    const spec = vegaLiteSpec(CHARTS.histogram);
    expect(spec.data).toEqual({
      values: [
        { start: 0, end: 10, count: 5 },
        { start: 10, end: 20, count: 12 },
      ],
    });
    expect(spec.mark).toMatchObject({ type: 'bar' });
    expect(spec.encoding).toMatchObject({
      x: { field: 'start', type: 'quantitative', bin: { binned: true }, title: 'Range', axis: { title: PATH_LIKE } },
      x2: { field: 'end' },
      y: { field: 'count', type: 'quantitative', title: 'Count' },
    });
    expect(spec).not.toHaveProperty('title');
  });

  it('puts a temporal histogram on a UTC time axis', () => {
    const chart: ChartData = {
      kind: 'histogram',
      column: 'ts',
      temporal: true,
      bins: [{ start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 2), count: 4 }],
    };
    const spec = vegaLiteSpec(chart);
    expect(validate(spec), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(compileWarnings(spec)).toEqual([]);
    expect(spec.encoding).toMatchObject({
      x: { field: 'start', type: 'temporal', scale: { type: 'utc' }, bin: { binned: true }, axis: { title: 'ts' } },
      tooltip: [
        { field: 'start', type: 'temporal', formatType: 'utc' },
        { field: 'end', type: 'temporal', formatType: 'utc' },
        { field: 'count' },
      ],
    });
  });

  it('sorts value counts by count, keeps ties in the given order and labels null "(null)"', () => {
    const spec = vegaLiteSpec(CHARTS['value-counts']);
    expect(spec.data).toEqual({
      values: [
        { label: 'a', isNull: false, count: 10 },
        { label: '(null)', isNull: true, count: 7 },
        { label: 'b', isNull: false, count: 3 },
        { label: 'c', isNull: false, count: 3 },
      ],
    });
    expect(spec.encoding).toMatchObject({
      y: { field: 'label', type: 'nominal', sort: null, title: 'Value', axis: { title: PATH_LIKE } },
      x: { field: 'count' },
    });
  });

  it('puts the timeseries on a UTC time scale, zoneless timestamps read as UTC, with the band layer first', () => {
    const spec = vegaLiteSpec(CHARTS.timeseries) as {
      data: unknown;
      layer: { mark: { type: string }; data?: unknown; encoding: Record<string, unknown> }[];
    };
    expect(spec.data).toEqual({
      values: [
        { time: '2024-01-01T00:00:00.000Z', value: 1.5 },
        { time: '2024-01-01T01:00:00.000Z', value: null },
      ],
    });
    expect(spec.layer.map((layer) => layer.mark.type)).toEqual(['area', 'line', 'point']);
    expect(spec.layer[0]?.data).toEqual({ values: [{ time: '2023-12-31T22:00:00.000Z', min: 1, max: null }] });
    // Two points an hour apart on one day: quarter-hour ticks labelled with the time, the day in the axis title.
    const quarters = [0, 15, 30, 45, 60].map((m) => Date.UTC(2024, 0, 1, 0, m));
    expect(spec.layer[1]?.encoding).toEqual({
      x: {
        field: 'time',
        type: 'temporal',
        scale: { type: 'utc' },
        title: 'Time',
        axis: {
          title: 'created.at (2024-01-01)',
          values: quarters,
          labelExpr: "utcFormat(datum.value, '%H:%M')",
          labelOverlap: true,
        },
      },
      // A line's axis fits its values instead of starting at zero.
      y: {
        field: 'value',
        type: 'quantitative',
        title: 'Value',
        scale: { zero: false },
        axis: { title: `avg(${PATH_LIKE})` },
      },
    });

    const { band: _band, ...withoutBand } = CHARTS.timeseries as Extract<ChartData, { kind: 'timeseries' }>;
    const plain = vegaLiteSpec(withoutBand) as { layer: { mark: { type: string } }[] };
    expect(plain.layer.map((layer) => layer.mark.type)).toEqual(['line', 'point']);
  });

  it('draws one coloured line per series, in the order of the keys, the legend titled by the split column', () => {
    const spec = vegaLiteSpec(SPLIT) as {
      data: { values: unknown[] };
      layer: { mark: { type: string }; data?: { values: unknown[] }; encoding: Record<string, unknown> }[];
    };
    expect(spec.data.values).toEqual([
      { time: '2024-01-01T00:00:00.000Z', value: 8, series: 'b' },
      { time: '2024-01-02T00:00:00.000Z', value: 30, series: 'b' },
      { time: '2024-01-01T00:00:00.000Z', value: 12, series: PATH_LIKE },
      { time: '2024-01-01T00:00:00.000Z', value: 20, series: '(null)' },
    ]);
    expect(spec.layer[0]?.data?.values).toEqual([{ time: '2024-01-01T00:00:00.000Z', min: 7, max: 9, series: 'b' }]);
    for (const layer of spec.layer) {
      expect(layer.encoding.color).toMatchObject({
        field: 'series',
        type: 'nominal',
        title: 'Series',
        scale: { domain: ['b', PATH_LIKE, '(null)'], scheme: 'tableau10' },
        legend: { title: PATH_LIKE },
      });
    }
    // More series than ten colours tell apart get the paired palette.
    const keys = Array.from({ length: 11 }, (_, i) => `k${i}`);
    const many = vegaLiteSpec({
      ...SPLIT,
      points: keys.map((k) => ({ time: '2024-01-01', value: 1, series: k })),
      band: undefined,
      series: { column: 'c', keys },
    }) as typeof spec;
    expect(many.layer[0]?.encoding.color).toMatchObject({ scale: { scheme: 'tableau20' } });
  });

  it('fits the value axis of a line to its values, while bars keep zero', () => {
    const line = vegaLiteSpec(CHARTS.timeseries) as { layer: { encoding: { y: { scale?: unknown } } }[] };
    for (const layer of line.layer) expect(layer.encoding.y.scale).toEqual({ zero: false });
    for (const bars of [CHARTS.histogram, CHARTS['value-counts']]) {
      expect(JSON.stringify(vegaLiteSpec(bars))).not.toContain('"zero"');
    }
  });

  it('cuts a long title to the chart width, and leaves an empty one out', () => {
    expect(vegaLiteSpec(CHARTS.histogram, { title: 'x'.repeat(200), width: 300 }).title).toEqual({
      text: 'x'.repeat(200),
      limit: 284,
    });
    expect(vegaLiteSpec(CHARTS.histogram, { title: '' })).not.toHaveProperty('title');
  });

  it('lays the correlation matrix out row by row with r to two decimals, "–" for null and no "-0.00"', () => {
    const spec = vegaLiteSpec(CHARTS.correlation) as { data: unknown; layer: { encoding: Record<string, unknown> }[] };
    expect(spec.data).toEqual({
      values: [
        { x: 'a', y: 'a', r: 1, label: '1.00' },
        { x: PATH_LIKE, y: 'a', r: -0.004, label: '0.00' },
        { x: 'a', y: PATH_LIKE, r: -0.004, label: '0.00' },
        { x: PATH_LIKE, y: PATH_LIKE, r: null, label: '–' },
      ],
    });
    expect(spec.layer[0]?.encoding.color).toMatchObject({ field: 'r', scale: { scheme: 'redblue', domain: [-1, 1] } });
  });

  it('rejects a correlation matrix whose shape does not match the columns', () => {
    expect(() => vegaLiteSpec({ kind: 'correlation', columns: ['a', 'b'], matrix: [[1, 0]] })).toThrow(
      'the correlation matrix must be 2×2',
    );
    expect(() => vegaLiteSpec({ kind: 'correlation', columns: ['a', 'b'], matrix: [[1, 0], [0]] })).toThrow(
      'the correlation matrix must be 2×2',
    );
  });

  it('uses 640×320 by default and the requested size within 100..4000 px', () => {
    expect(vegaLiteSpec(CHARTS.histogram)).toMatchObject({
      width: CHART_SIZE.defaultWidth,
      height: CHART_SIZE.defaultHeight,
    });
    expect(vegaLiteSpec(CHARTS.histogram, { width: 100, height: 4000 })).toMatchObject({ width: 100, height: 4000 });
  });

  it.each([
    ['width', { width: 99 }],
    ['width', { width: 4001 }],
    ['height', { height: 320.5 }],
    ['height', { height: Number.NaN }],
  ] as const)('answers 400 validation_failed at /query/%s for %o', (name, options) => {
    let thrown: unknown;
    try {
      vegaLiteSpec(CHARTS.histogram, options);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect(thrown).toMatchObject({
      status: 400,
      code: 'validation_failed',
      message: `Chart ${name} must be an integer from 100 to 4000`,
      errors: [{ pointer: `/query/${name}`, message: 'must be an integer from 100 to 4000' }],
    });
  });

  it(`accepts ${MAX_CHART_ROWS} data rows and refuses one more`, () => {
    const bins = (n: number) => Array.from({ length: n }, (_, i) => ({ start: i, end: i + 1, count: 1 }));
    expect(
      (vegaLiteSpec({ kind: 'histogram', column: 'c', bins: bins(MAX_CHART_ROWS) }).data as { values: unknown[] })
        .values,
    ).toHaveLength(MAX_CHART_ROWS);
    expect(() => vegaLiteSpec({ kind: 'histogram', column: 'c', bins: bins(MAX_CHART_ROWS + 1) })).toThrow(
      '20001 data rows exceed the limit of 20000',
    );
    // A timeseries counts its band too; a correlation counts its n² cells.
    const points = Array.from({ length: 10_001 }, () => ({ time: '2024-01-01', value: 1 }));
    const band = Array.from({ length: 10_000 }, () => ({ time: '2024-01-01', min: 0, max: 1 }));
    expect(() => vegaLiteSpec({ kind: 'timeseries', time: 't', value: 'v', agg: 'sum', points, band })).toThrow(
      '20001 data rows',
    );
    const columns = Array.from({ length: 142 }, (_, i) => `c${i}`);
    expect(() =>
      vegaLiteSpec({ kind: 'correlation', columns, matrix: columns.map(() => columns.map(() => 0)) }),
    ).toThrow('20164 data rows');
  });
});

/** Keys whose string values Vega parses as expressions. */
const EXPRESSION_KEYS = new Set(['signal', 'expr', 'test', 'update', 'init', 'filter', 'as']);

function expressionsOf(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((item) => expressionsOf(item, found));
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (EXPRESSION_KEYS.has(key) && typeof value === 'string') found.push(value);
      else expressionsOf(value, found);
    }
  }
  return found;
}

describe('user text in the compiled Vega spec', () => {
  // vega-lite 6.4 escapes `"` but not `\` when it writes a title into an expression: this name would end the
  // string literal early. The test keeps every user string out of expressions altogether.
  const MARKER = 'Zq\\" + 1 + "\\';
  const charts: ChartData[] = [
    { kind: 'histogram', column: MARKER, bins: [{ start: 0, end: 1, count: 1 }] },
    {
      kind: 'value-counts',
      column: MARKER,
      values: [
        { value: MARKER, count: 1 },
        { value: null, count: 1 },
      ],
    },
    {
      kind: 'timeseries',
      time: MARKER,
      value: MARKER,
      agg: MARKER,
      points: [{ time: '2024-01-01', value: 1 }],
      band: [{ time: '2024-01-01', min: 0, max: 2 }],
    },
    {
      kind: 'timeseries',
      time: MARKER,
      value: MARKER,
      agg: MARKER,
      points: [{ time: '2024-01-01', value: 1, series: MARKER }],
      band: [{ time: '2024-01-01', min: 0, max: 2, series: MARKER }],
      series: { column: MARKER, keys: [MARKER] },
    },
    {
      kind: 'correlation',
      columns: [MARKER, 'b'],
      matrix: [
        [1, 0],
        [0, 1],
      ],
    },
  ];

  it.each(charts)('stays out of every expression of a $kind chart', (chart) => {
    const { spec } = compile(vegaLiteSpec(chart, { title: MARKER }) as unknown as TopLevelSpec);
    const expressions = expressionsOf(spec);
    expect(expressions.length).toBeGreaterThan(0);
    expect(expressions.filter((expression) => expression.includes('Zq'))).toEqual([]);
    // …while it is still in the spec as plain strings (titles, data).
    expect(JSON.stringify(spec)).toContain(JSON.stringify(MARKER));
  });
});

describe('utcIso', () => {
  it.each([
    ['2024-01-01T10:00:00Z', '2024-01-01T10:00:00.000Z'],
    ['2024-01-01 10:00:00', '2024-01-01T10:00:00.000Z'],
    ['2024-01-01 10:00:00.123456', '2024-01-01T10:00:00.123Z'],
    ['2024-01-01 10:00:00+02', '2024-01-01T08:00:00.000Z'],
    ['2024-01-01T10:00:00+0530', '2024-01-01T04:30:00.000Z'],
    ['2024-01-01T10:00:00-05:00', '2024-01-01T15:00:00.000Z'],
    ['2024-01-01', '2024-01-01T00:00:00.000Z'],
  ])('reads %s as %s', (input, expected) => {
    expect(utcIso(input)).toBe(expected);
  });

  it('refuses text that is no timestamp', () => {
    expect(() => utcIso('yesterday')).toThrow("vegaLiteSpec: 'yesterday' is not an ISO 8601 timestamp");
  });
});
