/**
 * Server-rendered SVG: well-formed, of the requested size, with one mark per data row, titles escaped as text,
 * the same in every time zone, and nothing loaded from anywhere.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { scheme } from 'vega';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChartData, renderSvg, vegaLiteSpec } from './charts.js';

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

type Parsed = Record<string, unknown> & { ':@'?: Record<string, string> };

function toElement(node: Parsed): Element | null {
  const name = Object.keys(node).find((key) => key !== ':@');
  if (name === undefined || name === '#text') return null;
  const raw = node[name] as Parsed[];
  return {
    name,
    attrs: node[':@'] ?? {},
    children: raw.map(toElement).filter((e): e is Element => e !== null),
    text: raw.map((child) => (typeof child['#text'] === 'string' ? child['#text'] : '')).join(''),
  };
}

/** The root `<svg>`, after checking that the document is well-formed XML. */
function parseSvg(svg: string): Element {
  expect(XMLValidator.validate(svg)).toBe(true);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    preserveOrder: true,
    trimValues: false,
    parseTagValue: false,
  });
  const nodes = parser.parse(svg) as Parsed[];
  const roots = nodes.map(toElement).filter((e): e is Element => e !== null);
  expect(roots.map((root) => root.name)).toEqual(['svg']);
  return roots[0] as Element;
}

function descendants(element: Element): Element[] {
  return element.children.flatMap((child) => [child, ...descendants(child)]);
}

/** The drawn items of a mark, e.g. `mark-rect role-mark` → one `<path>` per bar. */
function markItems(root: Element, markClass: string): Element[] {
  const groups = descendants(root).filter(
    (e) => e.name === 'g' && (e.attrs.class ?? '').startsWith(`${markClass} role-mark`),
  );
  expect(groups, `one ${markClass} group`).toHaveLength(1);
  return (groups[0] as Element).children;
}

/** The text of every `<text>` inside the groups of a role (`axis-title`, `axis-label`, `title`), in document order. */
function texts(root: Element, role: string): string[] {
  const groups = descendants(root).filter(
    (e) => e.name === 'g' && (e.attrs.class ?? '').split(' ').includes(`role-${role}`),
  );
  return groups.flatMap((group) =>
    descendants(group)
      .filter((e) => e.name === 'text')
      .map((e) => e.text),
  );
}

const allText = (root: Element): string[] =>
  descendants(root)
    .filter((e) => e.name === 'text')
    .map((e) => e.text);

const HOSTILE = '<script>alert(1)</script> & "x"';
/** Would end a string literal in a generated Vega expression if vega-lite did not quote titles. */
const EXPRESSION_LIKE = `a" + datum.count + "'\\`;

const hourly = (hours: number, value: (i: number) => number | null) =>
  Array.from({ length: hours }, (_, i) => ({ time: new Date(Date.UTC(2024, 0, 1, i)).toISOString(), value: value(i) }));

describe('renderSvg', () => {
  it('draws a histogram bar per bin at the requested size with both axis titles', async () => {
    const chart: ChartData = {
      kind: 'histogram',
      column: 'price.usd',
      bins: [
        { start: 0, end: 10, count: 5 },
        { start: 10, end: 20, count: 12 },
        { start: 20, end: 30, count: 0 },
      ],
    };
    const root = parseSvg(await renderSvg(vegaLiteSpec(chart, { width: 500, height: 300, title: 'Prices' })));
    expect(root.attrs).toMatchObject({ width: '500', height: '300', viewBox: '0 0 500 300' });
    expect(markItems(root, 'mark-rect')).toHaveLength(3);
    expect(texts(root, 'axis-title')).toEqual(['price.usd', 'Count']);
    expect(texts(root, 'title')).toEqual(['Prices']);
  });

  it('labels a temporal histogram with UTC dates', async () => {
    const day = (d: number) => Date.UTC(2024, 0, d);
    const chart: ChartData = {
      kind: 'histogram',
      column: 'created',
      temporal: true,
      bins: [1, 2, 3].map((d) => ({ start: day(d), end: day(d + 1), count: d })),
    };
    const root = parseSvg(await renderSvg(vegaLiteSpec(chart)));
    expect(markItems(root, 'mark-rect')).toHaveLength(3);
    // One format, with the year, on every date label.
    expect(texts(root, 'axis-label')).toEqual([
      '2024-01-01',
      '2024-01-02',
      '2024-01-03',
      '2024-01-04',
      '0',
      '1',
      '2',
      '3',
    ]);
  });

  it('draws value counts as bars sorted by count, the null bar greyed and labelled "(null)"', async () => {
    const chart: ChartData = {
      kind: 'value-counts',
      column: 'city',
      values: [
        { value: 'Oslo', count: 2 },
        { value: null, count: 5 },
        { value: 'Rome', count: 9 },
      ],
    };
    const root = parseSvg(await renderSvg(vegaLiteSpec(chart)));
    expect(root.attrs).toMatchObject({ width: '640', height: '320' });
    expect(markItems(root, 'mark-rect').map((bar) => [bar.attrs['aria-label'], bar.attrs.fill])).toEqual([
      ['Count: 9; Value: Rome', '#4c78a8'],
      ['Count: 5; Value: (null)', '#9aa5b1'],
      ['Count: 2; Value: Oslo', '#4c78a8'],
    ]);
    expect(texts(root, 'axis-title')).toEqual(['Count', 'city']);
  });

  it('draws a timeseries as one line over its band, without the tooltip-only points', async () => {
    const points = hourly(48, (i) => (i === 10 ? null : i));
    const band = points.map(({ time }, i) => ({ time, min: i - 1, max: i === 5 ? null : i + 1 }));
    const root = parseSvg(
      await renderSvg(vegaLiteSpec({ kind: 'timeseries', time: 'ts', value: 'amount', agg: 'avg', points, band })),
    );
    expect(markItems(root, 'mark-area')).toHaveLength(1);
    const [line] = markItems(root, 'mark-line');
    // The null at row 10 breaks the line in two: two move-to commands in one path.
    expect(line?.attrs.d?.match(/M/g)).toHaveLength(2);
    expect(descendants(root).filter((e) => (e.attrs.class ?? '').startsWith('mark-symbol'))).toEqual([]);
    expect(texts(root, 'axis-title')).toEqual(['ts', 'avg(amount)']);
  });

  it('draws one line per series with a legend, on a value axis fitted to values between 8 and 30', async () => {
    const keys = ['north', 'south', null];
    const points = keys.flatMap((series, k) => hourly(24, (i) => 8 + k * 8 + (i % 7)).map((p) => ({ ...p, series })));
    const root = parseSvg(
      await renderSvg(
        vegaLiteSpec({
          kind: 'timeseries',
          time: 'ts',
          value: 'temp',
          agg: 'avg',
          points,
          series: { column: 'site', keys },
        }),
      ),
    );
    // Vega draws each series in a group of its own: three line marks of one path each.
    const lines = descendants(root).filter(
      (e) => e.name === 'g' && (e.attrs.class ?? '').startsWith('mark-line role-mark'),
    );
    expect(lines.map((g) => g.children.length)).toEqual([1, 1, 1]);
    expect(texts(root, 'legend-title')).toEqual(['site']);
    expect(texts(root, 'legend-label')).toEqual(['north', 'south', '(null)']);
    const yLabels = texts(root, 'axis-label').slice(-4).map(Number);
    // The axis starts near the lowest value (8), not at 0, which would flatten the lines.
    expect(Math.min(...yLabels)).toBeGreaterThanOrEqual(8);
    // Bars keep their zero.
    const bars = parseSvg(
      await renderSvg(
        vegaLiteSpec({
          kind: 'histogram',
          column: 'temp',
          bins: [
            { start: 0, end: 1, count: 20 },
            { start: 1, end: 2, count: 30 },
          ],
        }),
      ),
    );
    expect(texts(bars, 'axis-label')).toContain('0');
  });

  it('draws a correlation cell and its r label per pair, null cells grey', async () => {
    const chart: ChartData = {
      kind: 'correlation',
      columns: ['a', 'b'],
      matrix: [
        [1, -0.5],
        [-0.5, null],
      ],
    };
    const root = parseSvg(await renderSvg(vegaLiteSpec(chart)));
    // The diverging scheme spans r from -1 to 1, so r sits at (r + 1) / 2 along it.
    const colour = scheme('redblue') as (t: number) => string;
    expect(markItems(root, 'mark-rect').map((cell) => cell.attrs.fill)).toEqual([
      colour(1),
      colour(0.25),
      colour(0.25),
      '#e4e7eb',
    ]);
    expect(markItems(root, 'mark-text').map((label) => [label.text, label.attrs.fill])).toEqual([
      ['1.00', 'white'],
      ['-0.50', '#1f2933'],
      ['-0.50', '#1f2933'],
      ['–', '#1f2933'],
    ]);
  });

  it.each<ChartData>([
    { kind: 'histogram', column: HOSTILE, bins: [{ start: 0, end: 1, count: 1 }] },
    { kind: 'value-counts', column: HOSTILE, values: [{ value: HOSTILE, count: 1 }] },
    { kind: 'timeseries', time: HOSTILE, value: HOSTILE, agg: 'sum', points: hourly(3, (i) => i) },
    {
      kind: 'correlation',
      columns: [HOSTILE, 'b'],
      matrix: [
        [1, 0],
        [0, 1],
      ],
    },
  ])('keeps a hostile column name as text in a $kind chart', async (chart) => {
    const svg = await renderSvg(vegaLiteSpec(chart, { title: HOSTILE }));
    const root = parseSvg(svg);
    const elements = [root, ...descendants(root)];
    expect(elements.filter((e) => e.name.toLowerCase() === 'script' || e.name === 'foreignObject')).toEqual([]);
    expect(elements.flatMap((e) => Object.keys(e.attrs)).filter((name) => /^on/i.test(name))).toEqual([]);
    expect(svg).not.toMatch(/<script/i);
    expect(texts(root, 'title')).toEqual([HOSTILE]);
    // Title plus at least one axis title or label; long labels are cut to the label limit with an ellipsis.
    expect(allText(root).filter((text) => text.startsWith('<script>alert(1)')).length).toBeGreaterThanOrEqual(2);
  });

  it('treats column names that look like expression code as literal titles', async () => {
    const points = hourly(2, (i) => i);
    const chart: ChartData = {
      kind: 'timeseries',
      time: EXPRESSION_LIKE,
      value: EXPRESSION_LIKE,
      agg: 'sum',
      points,
      band: points.map(({ time, value }) => ({ time, min: value, max: value })),
    };
    const root = parseSvg(await renderSvg(vegaLiteSpec(chart)));
    // Two hours of one day: the day is in the time axis's title, its labels are the hours.
    expect(texts(root, 'axis-title')).toEqual([`${EXPRESSION_LIKE} (2024-01-01)`, `sum(${EXPRESSION_LIKE})`]);
  });

  it.each<ChartData>([
    { kind: 'histogram', column: 'c', bins: [] },
    { kind: 'value-counts', column: 'c', values: [] },
    { kind: 'timeseries', time: 't', value: 'v', agg: 'sum', points: [], band: [] },
    { kind: 'correlation', columns: [], matrix: [] },
  ])('renders an empty $kind chart as a valid SVG', async (chart) => {
    const root = parseSvg(await renderSvg(vegaLiteSpec(chart, { width: 300, height: 200 })));
    expect(root.attrs).toMatchObject({ width: '300', height: '200' });
    const marks = descendants(root).filter((e) => e.name === 'g' && / role-mark /.test(e.attrs.class ?? ''));
    expect(marks.length).toBeGreaterThan(0);
    for (const mark of marks) expect(mark.children).toEqual([]);
  });

  it('renders charts whose values are all null', async () => {
    const nullSeries: ChartData = {
      kind: 'timeseries',
      time: 't',
      value: 'v',
      agg: 'avg',
      points: hourly(3, () => null),
      band: hourly(3, () => null).map(({ time }) => ({ time, min: null, max: null })),
    };
    const nullMatrix: ChartData = {
      kind: 'correlation',
      columns: ['a', 'b'],
      matrix: [
        [null, null],
        [null, null],
      ],
    };
    for (const chart of [nullSeries, nullMatrix]) parseSvg(await renderSvg(vegaLiteSpec(chart)));
    expect(
      markItems(parseSvg(await renderSvg(vegaLiteSpec(nullMatrix))), 'mark-text').map((label) => label.text),
    ).toEqual(['–', '–', '–', '–']);
  });

  it('fails instead of answering a partial chart when Vega reports an error', async () => {
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { values: [{ a: null }] },
      transform: [{ calculate: 'datum.a.b', as: 'z' }],
      mark: 'point',
      encoding: { x: { field: 'z', type: 'quantitative' } },
    };
    await expect(renderSvg(spec)).rejects.toThrow("renderSvg: Cannot read properties of null (reading 'b')");
  });

  describe('in another time zone', () => {
    // eslint-disable-next-line no-restricted-properties -- the test needs a non-UTC process zone; Node re-reads TZ on assignment.
    const env = process.env;
    const originalZone = env.TZ;
    afterEach(() => {
      if (originalZone === undefined) delete env.TZ;
      else env.TZ = originalZone;
    });

    it('labels the time axis in UTC', async () => {
      const spec = vegaLiteSpec({
        kind: 'timeseries',
        time: 't',
        value: 'v',
        agg: 'sum',
        points: hourly(13, (i) => i),
      });
      env.TZ = 'America/New_York';
      expect(new Date(Date.UTC(2024, 0, 1)).getHours()).toBe(19);
      const root = parseSvg(await renderSvg(spec));
      expect(texts(root, 'axis-label').slice(0, 5)).toEqual(['00:00', '03:00', '06:00', '09:00', '12:00']);
      expect(texts(root, 'axis-title')[0]).toBe('t (2024-01-01)');
    });
  });

  describe('loads nothing', () => {
    const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 200, height: 200 };

    it.each(['file:///etc/passwd', 'http://127.0.0.1:9/data.json', 'data.json'])(
      'refuses data from %s',
      async (url) => {
        await expect(renderSvg({ ...base, data: { url }, mark: 'point' })).rejects.toThrow(
          `renderSvg: the spec refers to URLs, and charts load nothing: ${url}`,
        );
      },
    );

    it.each([
      [
        'an image',
        { mark: { type: 'image', width: 10, height: 10 }, encoding: { url: { field: 'u', type: 'nominal' } } },
      ],
      ['a link', { mark: 'point', encoding: { href: { field: 'u', type: 'nominal' } } }],
    ])('refuses %s URL', async (_what, marks) => {
      const spec = { ...base, data: { values: [{ u: 'http://127.0.0.1:9/a.png' }] }, ...marks };
      await expect(renderSvg(spec)).rejects.toThrow('charts load nothing: http://127.0.0.1:9/a.png');
    });
  });
});
