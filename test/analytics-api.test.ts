import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, workspace } from './helpers/identity.js';
import { problemOf, upload, uploadDataset } from './helpers/upload.js';

let t: TestApp;
const ids: Record<string, string> = {};

/** a and b move together, c against them, k is constant, n has gaps (its two values rise with a), label has one gap. */
const CORR = ['a,b,c,k,n,label', '1,2,-1,5,,x', '2,4,-2,5,1,y', '3,6,-3,5,,x', '4,8,-4,5,3,'].join('\n');

/** x: 0..10 and two nulls; one: a single value; t: three instants over one day. */
const HISTO = [
  'x,one,t',
  '0,7,2024-01-01T00:00:00Z',
  '1,7,2024-01-01T10:00:00Z',
  '2,7,2024-01-02T00:00:00Z',
  ...[3, 4, 5, 6, 7, 8, 9, 10].map((x) => `${x},7,`),
  ',7,',
  ',,',
].join('\n');

/** Ties: blue, red and null twice each (in that order after sorting), green once; n ties 9 and 10. */
const COLORS = ['color,n', 'red,10', 'blue,9', 'red,10', ',9', 'green,1', 'blue,3', ',4'].join('\n');

/** Instants with offsets: 00:30Z, 00:45Z, 01:10Z, a row without a value, 02:59:59Z. */
const ZONED = [
  'ts,v',
  '2024-03-31T01:30:00+01:00,1',
  '2024-03-31T00:45:00Z,3',
  '2024-03-31T03:10:00+02:00,5',
  '2024-03-31T01:20:00Z,',
  '2024-03-31T02:59:59Z,10',
].join('\n');

const SALES = [
  'region,product,amount,qty',
  'north,a,10,1',
  'north,b,20,2',
  'south,a,5,1',
  'south,a,15,3',
  'east,,7,',
].join('\n');

/** 100,000 minutes from 2024-01-01 with a smooth wave, one spike up and one down. */
const LONG_ROWS = 100_000;
const SPIKE_UP = 54_321;
const SPIKE_DOWN = 7;
const minute = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
function longSeries(): string {
  const lines = ['ts,v'];
  for (let i = 0; i < LONG_ROWS; i++) {
    const v = i === SPIKE_UP ? 1_000_000 : i === SPIKE_DOWN ? -1_000_000 : Math.round(Math.sin(i / 500) * 1000) / 10;
    lines.push(`${minute(i)},${v}`);
  }
  return lines.join('\n');
}

async function make(name: string, content: string): Promise<string> {
  return (await uploadDataset(t, content, { filename: `${name}.csv`, name })).id;
}

async function get<T>(path: string, headers?: Record<string, string>): Promise<T> {
  const res = await t.fetch(`${t.api}/datasets/${path}`, { headers });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

function query(id: string, body: unknown, headers: Record<string, string> = {}) {
  return t.fetch(`${t.api}/datasets/${id}/query`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  t = await startTestApp();
  ids.corr = await make('corr', CORR);
  ids.histo = await make('histo', HISTO);
  ids.colors = await make('colors', COLORS);
  ids.zoned = await make('zoned', ZONED);
  ids.sales = await make('sales', SALES);
  ids.long = await make('long', longSeries());
});
afterAll(async () => {
  await t?.close();
});

describe('GET /datasets/:id/stats', () => {
  interface Stats {
    versionId: string;
    rowCount: number;
    columns: { name: string; nulls: number }[];
    correlation: {
      method: string;
      columns: string[];
      matrix: (number | null)[][];
      numericColumns: number;
      truncated: boolean;
    };
    missing: {
      rows: number;
      columns: { name: string; nulls: number; fraction: number }[];
      rowsWithNulls: number;
      rowsWithNullsFraction: number;
      totalNulls: number;
    };
  }

  it('answers the profile, the Pearson matrix of the numeric columns and the missing values', async () => {
    const s = await get<Stats>(`${ids.corr}/stats`);
    expect(s.rowCount).toBe(4);
    expect(s.columns.map((c) => [c.name, c.nulls])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 0],
      ['k', 0],
      ['n', 2],
      ['label', 1],
    ]);
    expect(s.correlation.method).toBe('pearson');
    expect(s.correlation.columns).toEqual(['a', 'b', 'c', 'k', 'n']);
    expect(s.correlation.numericColumns).toBe(5);
    expect(s.correlation.truncated).toBe(false);
    const m = s.correlation.matrix;
    const r = (i: number, j: number) => m[i]![j];
    // a~b perfect, a~c perfectly opposite, k constant (undefined), a~n over the rows where both exist.
    expect(r(0, 1)).toBeCloseTo(1, 12);
    expect(r(1, 0)).toBeCloseTo(1, 12);
    expect(r(0, 2)).toBeCloseTo(-1, 12);
    expect(r(1, 2)).toBeCloseTo(-1, 12);
    expect(r(0, 4)).toBeCloseTo(1, 12);
    for (let i = 0; i < 5; i++) {
      expect(r(3, i)).toBeNull();
      expect(r(i, 3)).toBeNull();
    }
    expect([r(0, 0), r(1, 1), r(2, 2), r(4, 4)]).toEqual([1, 1, 1, 1]);
    expect(s.missing).toEqual({
      rows: 4,
      columns: [
        { name: 'a', nulls: 0, fraction: 0 },
        { name: 'b', nulls: 0, fraction: 0 },
        { name: 'c', nulls: 0, fraction: 0 },
        { name: 'k', nulls: 0, fraction: 0 },
        { name: 'n', nulls: 2, fraction: 0.5 },
        { name: 'label', nulls: 1, fraction: 0.25 },
      ],
      rowsWithNulls: 3,
      rowsWithNullsFraction: 0.75,
      totalNulls: 3,
    });
  });

  it('draws the correlation heatmap as Vega-Lite and as SVG', async () => {
    const spec = await t.fetch(`${t.api}/datasets/${ids.corr}/stats?format=vega-lite&title=Corr&width=300&height=300`);
    expect(spec.status).toBe(200);
    expect(spec.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await spec.json()) as Record<string, unknown>;
    expect(body.$schema).toMatch(/vega-lite/);
    expect(JSON.stringify(body)).toContain('Corr');
    const svg = await t.fetch(`${t.api}/datasets/${ids.corr}/stats?format=svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(svg.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(svg.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await svg.text()).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });
});

describe('GET /datasets/:id/histogram', () => {
  interface Hist {
    column: string;
    bins: { start: number | string; end: number | string; count: number }[];
    count: number;
    nulls: number;
  }

  it('bins a numeric column over [min, max] with the maximum in the last bin, nulls apart', async () => {
    const h = await get<Hist>(`${ids.histo}/histogram?column=x&bins=5`);
    expect(h.bins).toEqual([
      { start: 0, end: 2, count: 2 },
      { start: 2, end: 4, count: 2 },
      { start: 4, end: 6, count: 2 },
      { start: 6, end: 8, count: 2 },
      { start: 8, end: 10, count: 3 },
    ]);
    expect(h.count).toBe(11);
    expect(h.nulls).toBe(2);
  });

  it('gives a single-value column one bin, and 20 bins by default', async () => {
    const h = await get<Hist>(`${ids.histo}/histogram?column=one`);
    expect(h.bins).toEqual([{ start: 7, end: 7, count: 12 }]);
    expect(h.nulls).toBe(1);
    expect((await get<Hist>(`${ids.histo}/histogram?column=x`)).bins).toHaveLength(20);
  });

  it('bins timestamps over epoch time with ISO edges', async () => {
    const h = await get<Hist>(`${ids.histo}/histogram?column=t&bins=2`);
    expect(h.bins).toEqual([
      { start: '2024-01-01T00:00:00.000Z', end: '2024-01-01T12:00:00.000Z', count: 2 },
      { start: '2024-01-01T12:00:00.000Z', end: '2024-01-02T00:00:00.000Z', count: 1 },
    ]);
    expect(h.nulls).toBe(10);
    // Drawn on a UTC time axis, not as epoch milliseconds.
    const spec = await get<{ encoding: { x: { type: string; scale?: { type: string } } } }>(
      `${ids.histo}/histogram?column=t&bins=2&format=vega-lite`,
    );
    expect(spec.encoding.x).toMatchObject({ type: 'temporal', scale: { type: 'utc' } });
  });

  it('refuses an unknown column with a hint, a text column, and bins out of range', async () => {
    const unknown = await problemOf(await t.fetch(`${t.api}/datasets/${ids.histo}/histogram?column=X1`));
    expect(unknown.status).toBe(400);
    expect(unknown.errors).toEqual([{ pointer: '/query/column', message: "no column named 'X1'; did you mean 'x'?" }]);
    const text = await problemOf(await t.fetch(`${t.api}/datasets/${ids.colors}/histogram?column=color`));
    expect(text.status).toBe(400);
    expect(text.errors[0]).toEqual({
      pointer: '/query/column',
      message: "column 'color' is VARCHAR; expected a numeric column or a timestamp or date column",
    });
    for (const bins of [0, 201]) {
      const p = await problemOf(await t.fetch(`${t.api}/datasets/${ids.histo}/histogram?column=x&bins=${bins}`));
      expect(p.errors.map((e) => e.pointer)).toEqual(['/query/bins']);
    }
  });

  it('draws as SVG', async () => {
    const svg = await t.fetch(`${t.api}/datasets/${ids.histo}/histogram?column=t&format=svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toContain('<svg');
  });
});

describe('GET /datasets/:id/value-counts', () => {
  interface Counts {
    values: { value: string | null; count: number }[];
    distinct: number;
    otherCount: number;
    rows: number;
  }

  it('counts null as a value, breaks ties by value and reports the rest', async () => {
    const c = await get<Counts>(`${ids.colors}/value-counts?column=color&limit=3`);
    expect(c.values).toEqual([
      { value: 'blue', count: 2 },
      { value: 'red', count: 2 },
      { value: null, count: 2 },
    ]);
    expect(c.distinct).toBe(4);
    expect(c.otherCount).toBe(1);
    expect(c.rows).toBe(7);
  });

  it('orders tied numbers numerically', async () => {
    const c = await get<Counts>(`${ids.colors}/value-counts?column=n`);
    expect(c.values).toEqual([
      { value: '9', count: 2 },
      { value: '10', count: 2 },
      { value: '1', count: 1 },
      { value: '3', count: 1 },
      { value: '4', count: 1 },
    ]);
    expect(c.otherCount).toBe(0);
    expect(c.distinct).toBe(5);
  });

  it('answers a Vega-Lite spec and refuses a limit out of range', async () => {
    const res = await t.fetch(`${t.api}/datasets/${ids.colors}/value-counts?column=color&format=vega-lite`);
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('blue');
    const p = await problemOf(await t.fetch(`${t.api}/datasets/${ids.colors}/value-counts?column=color&limit=1001`));
    expect(p.errors.map((e) => e.pointer)).toEqual(['/query/limit']);
  });
});

describe('GET /datasets/:id/timeseries', () => {
  interface Series {
    time: string;
    value: string;
    agg: string;
    bucket: string | null;
    mode: string;
    rows: number;
    downsampled: boolean;
    points: { time: string; value: number | null }[];
    band?: { time: string; min: number | null; max: number | null }[];
  }

  it('answers a short series as it is, in UTC whatever the offsets of the input', async () => {
    const s = await get<Series>(`${ids.zoned}/timeseries?time=ts&value=v`);
    expect(s).toEqual({
      versionId: expect.any(String),
      time: 'ts',
      value: 'v',
      agg: 'mean',
      bucket: null,
      mode: 'minmax',
      rows: 4,
      downsampled: false,
      points: [
        { time: '2024-03-31T00:30:00.000Z', value: 1 },
        { time: '2024-03-31T00:45:00.000Z', value: 3 },
        { time: '2024-03-31T01:10:00.000Z', value: 5 },
        { time: '2024-03-31T02:59:59.000Z', value: 10 },
      ],
    });
  });

  it('aggregates per UTC hour with a min/max band', async () => {
    const mean = await get<Series>(`${ids.zoned}/timeseries?time=ts&value=v&bucket=1h`);
    expect(mean.points).toEqual([
      { time: '2024-03-31T00:00:00.000Z', value: 2 },
      { time: '2024-03-31T01:00:00.000Z', value: 5 },
      { time: '2024-03-31T02:00:00.000Z', value: 10 },
    ]);
    expect(mean.band).toEqual([
      { time: '2024-03-31T00:00:00.000Z', min: 1, max: 3 },
      { time: '2024-03-31T01:00:00.000Z', min: 5, max: 5 },
      { time: '2024-03-31T02:00:00.000Z', min: 10, max: 10 },
    ]);
    expect(mean.rows).toBe(4);
    expect(mean.downsampled).toBe(false);
    expect(
      (await get<Series>(`${ids.zoned}/timeseries?time=ts&value=v&bucket=1h&agg=sum`)).points.map((p) => p.value),
    ).toEqual([4, 5, 10]);
    expect(
      (await get<Series>(`${ids.zoned}/timeseries?time=ts&value=v&bucket=1h&agg=count`)).points.map((p) => p.value),
    ).toEqual([2, 1, 1]);
    expect((await get<Series>(`${ids.zoned}/timeseries?time=ts&value=v&bucket=1d&agg=max`)).points).toEqual([
      { time: '2024-03-31T00:00:00.000Z', value: 10 },
    ]);
  });

  it('keeps a 100k-row series within `points` with minmax, global extremes included', async () => {
    const s = await get<Series>(`${ids.long}/timeseries?time=ts&value=v&points=100`);
    expect(s.rows).toBe(LONG_ROWS);
    expect(s.downsampled).toBe(true);
    expect(s.points.length).toBeLessThanOrEqual(100);
    expect(s.points.length).toBeGreaterThan(90);
    expect(s.points).toContainEqual({ time: minute(SPIKE_UP), value: 1_000_000 });
    expect(s.points).toContainEqual({ time: minute(SPIKE_DOWN), value: -1_000_000 });
    const times = s.points.map((p) => p.time);
    expect(times).toEqual([...times].sort());
    expect(s.band).toBeUndefined();
  });

  it('keeps a 100k-row series to exactly `points` with lttb', async () => {
    const s = await get<Series>(`${ids.long}/timeseries?time=ts&value=v&points=100&mode=lttb`);
    expect(s.mode).toBe('lttb');
    expect(s.rows).toBe(LONG_ROWS);
    expect(s.downsampled).toBe(true);
    expect(s.points).toHaveLength(100);
    expect(s.points[0]).toEqual({ time: minute(0), value: 0 });
    expect(s.points).toContainEqual({ time: minute(SPIKE_UP), value: 1_000_000 });
    const times = s.points.map((p) => p.time);
    expect(new Set(times).size).toBe(100);
    expect(times).toEqual([...times].sort());
  });

  it('spends `points` on the range between `from` and `to` alone: a zoomed view gets a finer series', async () => {
    const whole = await get<Series>(`${ids.long}/timeseries?time=ts&value=v&points=100`);
    // One day of the 69 the data spans: its 1,440 minutes reduced to 100 points, 14-minute slices instead of 1,000.
    const from = minute(50_000);
    const to = minute(51_439);
    const day = await get<Series>(`${ids.long}/timeseries?time=ts&value=v&points=100&from=${from}&to=${to}`);
    expect(day.rows).toBe(1440);
    expect(day.downsampled).toBe(true);
    expect(day.points.length).toBeGreaterThan(90);
    expect(day.points[0]!.time >= from && day.points.at(-1)!.time <= to).toBe(true);
    const inDay = whole.points.filter((p) => p.time >= from && p.time <= to).length;
    expect(day.points.length).toBeGreaterThan(10 * inDay);
    // Bounds are inclusive; one side alone works; within a day of the spike up, the spike is kept.
    const three = await get<Series>(`${ids.long}/timeseries?time=ts&value=v&from=${minute(99_997)}`);
    expect(three.points.map((p) => p.time)).toEqual([minute(99_997), minute(99_998), minute(99_999)]);
    const spike = await get<Series>(
      `${ids.long}/timeseries?time=ts&value=v&points=50&from=${minute(SPIKE_UP - 720)}&to=${minute(SPIKE_UP + 720)}`,
    );
    expect(spike.points).toContainEqual({ time: minute(SPIKE_UP), value: 1_000_000 });
    const backwards = await problemOf(
      await t.fetch(`${t.api}/datasets/${ids.long}/timeseries?time=ts&value=v&from=${to}&to=${from}`),
    );
    expect(backwards.errors.map((e) => e.pointer)).toEqual(['/query/to']);
    const notTime = await problemOf(
      await t.fetch(`${t.api}/datasets/${ids.long}/timeseries?time=ts&value=v&from=yesterday`),
    );
    expect(notTime.status).toBe(400);
  });

  it('downsamples hourly aggregates too, band and points alike', async () => {
    // 100,000 minutes are 1,667 hours: more than 50 points.
    const s = await get<Series>(`${ids.long}/timeseries?time=ts&value=v&bucket=1h&agg=max&points=50`);
    expect(s.downsampled).toBe(true);
    expect(s.rows).toBe(LONG_ROWS);
    expect(s.points.length).toBeLessThanOrEqual(50);
    expect(s.band).toHaveLength(s.points.length);
    expect(s.points).toContainEqual({ time: '2024-02-07T17:00:00.000Z', value: 1_000_000 });
    expect(minute(SPIKE_UP).slice(0, 13)).toBe('2024-02-07T17');
    for (const [i, p] of s.points.entries()) expect(s.band![i]!.max).toBe(p.value);
  });

  it('refuses a text time column, an unknown value column, a bad bucket and points out of range', async () => {
    const time = await problemOf(await t.fetch(`${t.api}/datasets/${ids.sales}/timeseries?time=region&value=amount`));
    expect(time.errors).toEqual([
      { pointer: '/query/time', message: "column 'region' is VARCHAR; expected a timestamp or date column" },
    ]);
    const value = await problemOf(await t.fetch(`${t.api}/datasets/${ids.zoned}/timeseries?time=ts&value=vv`));
    expect(value.errors).toEqual([{ pointer: '/query/value', message: "no column named 'vv'; did you mean 'v'?" }]);
    for (const [q, pointer] of [
      ['bucket=1q', '/query/bucket'],
      ['points=1', '/query/points'],
      ['points=10001', '/query/points'],
      ['mode=avg', '/query/mode'],
      ['agg=median', '/query/agg'],
    ]) {
      const p = await problemOf(await t.fetch(`${t.api}/datasets/${ids.zoned}/timeseries?time=ts&value=v&${q}`));
      expect(p.status).toBe(400);
      expect(
        p.errors.map((e) => e.pointer),
        q,
      ).toEqual([pointer]);
    }
  });

  it('titles the value axis with the aggregate only when there is one', async () => {
    const raw = JSON.stringify(await get(`${ids.zoned}/timeseries?time=ts&value=v&format=vega-lite`));
    expect(raw).toContain('"axis":{"title":"v"}');
    expect(raw).not.toContain('mean(v)');
    const hourly = JSON.stringify(await get(`${ids.zoned}/timeseries?time=ts&value=v&bucket=1h&format=vega-lite`));
    expect(hourly).toContain('"axis":{"title":"mean(v)"}');
  });

  it('draws the series as SVG', async () => {
    const svg = await t.fetch(
      `${t.api}/datasets/${ids.zoned}/timeseries?time=ts&value=v&bucket=1h&format=svg&width=400&height=200`,
    );
    expect(svg.status).toBe(200);
    expect(await svg.text()).toContain('<svg');
  });
});

describe('timeseries split by a column, and chart titles', () => {
  /** Hourly temperatures between 8 and 30 of five devices with 40, 30, 20, 10 and 5 rows, and 3 rows of no device. */
  const DEVICES = (() => {
    const lines = ['ts,device,temp'];
    for (const [device, rows] of [
      ['d1', 40],
      ['d2', 30],
      ['d3', 20],
      ['d4', 10],
      ['d5', 5],
      ['', 3],
    ] as const) {
      for (let h = 0; h < rows; h++)
        lines.push(`${new Date(Date.UTC(2024, 0, 1, h)).toISOString()},${device},${8 + ((h * 7) % 23)}`);
    }
    return lines.join('\n');
  })();
  interface Split {
    rows: number;
    points: { time: string; value: number | null; series: string | null }[];
    series: {
      column: string;
      limit: number;
      total: number;
      shown: { key: string | null; rows: number; downsampled: boolean }[];
      omitted: number;
      omittedRows: number;
    };
  }
  let devices: string;
  beforeAll(async () => {
    devices = await make('devices', DEVICES);
  });

  it('answers one series per value of the column, the largest first, and says what was left out', async () => {
    const s = await get<Split>(`${devices}/timeseries?time=ts&value=temp&series=device&seriesLimit=3`);
    expect(s.series).toEqual({
      column: 'device',
      limit: 3,
      total: 6,
      omitted: 3,
      omittedRows: 18,
      shown: [
        { key: 'd1', rows: 40, downsampled: false },
        { key: 'd2', rows: 30, downsampled: false },
        { key: 'd3', rows: 20, downsampled: false },
      ],
    });
    expect(s.rows).toBe(90);
    expect(s.points.filter((p) => p.series === 'd2')).toHaveLength(30);
    expect(s.points[0]).toEqual({ time: '2024-01-01T00:00:00.000Z', value: 8, series: 'd1' });
    // Null is a series of its own; `points` is shared: 12 for each of the 6.
    const all = await get<Split>(`${devices}/timeseries?time=ts&value=temp&series=device&seriesLimit=20&points=72`);
    expect(all.series.shown.map((x) => [x.key, x.downsampled])).toEqual([
      ['d1', true],
      ['d2', true],
      ['d3', true],
      ['d4', false],
      ['d5', false],
      [null, false],
    ]);
    expect(all.series.omitted).toBe(0);
    expect(all.points.length).toBeLessThanOrEqual(72);
    expect(all.points.filter((p) => p.series === null)).toHaveLength(3);
    // Without a split the answer is as before: no series anywhere.
    expect(JSON.stringify(await get(`${devices}/timeseries?time=ts&value=temp`))).not.toContain('series');
  });

  it('draws the split as one line per series, titled by default with what is drawn and the dataset', async () => {
    const spec = await get<{
      title: { text: string };
      layer: { encoding: { color?: { legend: { title: string } }; y: { scale: unknown } } }[];
    }>(`${devices}/timeseries?time=ts&value=temp&series=device&seriesLimit=3&bucket=2h&format=vega-lite`);
    expect(spec.title.text).toBe('Mean of temp per 2h by device (3 of 6) — devices');
    expect(spec.layer.map((l) => l.encoding.color?.legend.title)).toEqual(['device', 'device', 'device']);
    // Values between 8 and 30: the line's axis is not pinned to zero.
    expect(spec.layer.map((l) => l.encoding.y.scale)).toEqual([{ zero: false }, { zero: false }, { zero: false }]);
    const svg = await (
      await t.fetch(`${t.api}/datasets/${devices}/timeseries?time=ts&value=temp&series=device&seriesLimit=3&format=svg`)
    ).text();
    for (const text of ['temp over ts by device (3 of 6) — devices', '>d1<', '>d2<', '>d3<', '2024-01-01'])
      expect(svg).toContain(text);
    expect(svg).not.toContain('>d4<');
  });

  it('titles every chart by default, follows a renamed dataset, and takes an empty title for none', async () => {
    const title = async (path: string) =>
      (await get<{ title?: { text: string } }>(`${path}&format=vega-lite`)).title?.text;
    expect(await title(`${devices}/histogram?column=temp`)).toBe('Distribution of temp — devices');
    expect(await title(`${devices}/value-counts?column=device`)).toBe('Most frequent values of device — devices');
    expect(await title(`${devices}/stats?`)).toBe('Correlation of the numeric columns — devices');
    expect(await title(`${devices}/timeseries?time=ts&value=temp&title=Mine`)).toBe('Mine');
    expect(await title(`${devices}/timeseries?time=ts&value=temp&title=`)).toBeUndefined();
    // The answer is cached by version; the dataset's name is not.
    const renamed = await t.fetch(`${t.api}/datasets/${devices}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sensors' }),
    });
    expect(renamed.status).toBe(200);
    expect(await title(`${devices}/histogram?column=temp`)).toBe('Distribution of temp — sensors');
  });

  it('refuses an unknown series column, a limit over the cap, and too few points for the series', async () => {
    const unknown = await problemOf(
      await t.fetch(`${t.api}/datasets/${devices}/timeseries?time=ts&value=temp&series=devise`),
    );
    expect(unknown.errors).toEqual([
      { pointer: '/query/series', message: "no column named 'devise'; did you mean 'device'?" },
    ]);
    const cap = await problemOf(
      await t.fetch(`${t.api}/datasets/${devices}/timeseries?time=ts&value=temp&series=device&seriesLimit=21`),
    );
    expect(cap.errors.map((e) => e.pointer)).toEqual(['/query/seriesLimit']);
    const few = await problemOf(
      await t.fetch(
        `${t.api}/datasets/${devices}/timeseries?time=ts&value=temp&series=device&seriesLimit=10&points=19`,
      ),
    );
    expect(few).toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [{ pointer: '/query/points', message: 'must be at least 2 per series: 20 for seriesLimit 10' }],
    });
  });
});

describe('answers kept by version', () => {
  it('answers a repeated chart request without DuckDB, a new version afresh, and a deleted dataset with 404', async () => {
    const id = await make('cached', 'ts,v\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,2\n');
    const engine = vi.spyOn(t.context.engine, 'all');
    try {
      type Series = { versionId: string; points: { value: number }[] };
      const first = await get<Series>(`${id}/timeseries?time=ts&value=v`);
      expect(engine).toHaveBeenCalled();
      engine.mockClear();
      expect(await get<Series>(`${id}/timeseries?value=v&time=ts`)).toEqual(first);
      expect(engine).not.toHaveBeenCalled();
      // Other parameters are another answer.
      await get(`${id}/timeseries?time=ts&value=v&points=2`);
      expect(engine).toHaveBeenCalled();

      const res = await upload(t, 'ts,v\n2024-01-01T00:00:00Z,7\n', {
        filename: 'cached.csv',
        path: `/datasets/${id}/versions`,
      });
      expect(res.status).toBe(201);
      engine.mockClear();
      const latest = await get<Series>(`${id}/timeseries?time=ts&value=v`);
      expect(engine).toHaveBeenCalled();
      expect(latest.versionId).not.toBe(first.versionId);
      expect(latest.points.map((p) => p.value)).toEqual([7]);
      engine.mockClear();
      expect(await get<Series>(`${id}/timeseries?time=ts&value=v&version=${first.versionId}`)).toEqual(first);
      expect(engine).not.toHaveBeenCalled();

      expect((await t.fetch(`${t.api}/datasets/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect(
        (await t.fetch(`${t.api}/datasets/${id}/timeseries?time=ts&value=v&version=${first.versionId}`)).status,
      ).toBe(404);
    } finally {
      engine.mockRestore();
    }
  });
});

describe('POST /datasets/:id/query', () => {
  interface Answer {
    columns: { name: string; type: string }[];
    rows: unknown[][];
    truncated: boolean;
    elapsedMs: number;
  }
  const answer = async (res: Response) => {
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Answer;
  };

  it('groups, aggregates and orders', async () => {
    const a = await answer(
      await query(ids.sales!, {
        groupBy: [{ expression: 'region', as: 'region' }],
        aggregations: [
          { function: 'count', as: 'n' },
          { function: 'sum', expression: 'amount', as: 'total' },
          { function: 'mean', expression: 'qty', as: 'qty' },
        ],
        orderBy: [{ column: 'total', descending: true }],
      }),
    );
    expect(a.columns.map((c) => c.name)).toEqual(['region', 'n', 'total', 'qty']);
    expect(a.rows).toEqual([
      ['north', 2, 30, 1.5],
      ['south', 2, 20, 2],
      ['east', 1, 7, null],
    ]);
    expect(a.truncated).toBe(false);
    expect(a.elapsedMs).toBeGreaterThanOrEqual(0);
  });

  it('filters with an expression and computes percentiles without groups', async () => {
    const a = await answer(
      await query(ids.sales!, {
        filter: "amount > 8 and product = 'a'",
        aggregations: [
          { function: 'count', as: 'n' },
          { function: 'median', expression: 'amount', as: 'median' },
          { function: 'count_distinct', expression: 'region', as: 'regions' },
        ],
      }),
    );
    expect(a.rows).toEqual([[2, 12.5, 2]]);
  });

  it('cuts the answer at `limit` and says so', async () => {
    const a = await answer(
      await query(ids.sales!, {
        groupBy: [{ expression: 'region', as: 'r' }],
        aggregations: [{ function: 'count', as: 'n' }],
        limit: 2,
      }),
    );
    expect(a.rows).toEqual([
      ['east', 1],
      ['north', 2],
    ]);
    expect(a.truncated).toBe(true);
    const over = await problemOf(
      await query(ids.sales!, { aggregations: [{ function: 'count', as: 'n' }], limit: 10_001 }),
    );
    expect(over.errors).toEqual([{ pointer: '/body/limit', message: 'must be at most 10000' }]);
  });

  it('treats SQL in names and literals as data', async () => {
    const evil = '"); DROP TABLE x; --';
    const named = await answer(await query(ids.sales!, { aggregations: [{ function: 'count', as: evil }] }));
    expect(named.columns).toEqual([{ name: evil, type: 'BIGINT' }]);
    expect(named.rows).toEqual([[5]]);
    const literal = await answer(
      await query(ids.sales!, {
        filter: `region = '${evil.replaceAll("'", "''")}'`,
        aggregations: [{ function: 'count', as: 'n' }],
      }),
    );
    expect(literal.rows).toEqual([[0]]);
    const column = await problemOf(
      await query(ids.sales!, { aggregations: [{ function: 'sum', expression: `\`${evil}\``, as: 'n' }] }),
    );
    expect(column.status).toBe(400);
    expect(column.errors[0]!.pointer).toBe('/body/aggregations/0/expression');
    expect(column.errors[0]!.message).toMatch(/^unknown column/);
    // The data is all still there.
    expect((await answer(await query(ids.sales!, { aggregations: [{ function: 'count', as: 'n' }] }))).rows).toEqual([
      [5],
    ]);
  });

  it('points at the part of the body that is wrong', async () => {
    const cases: [unknown, string, RegExp][] = [
      [
        {
          aggregations: [
            { function: 'count', as: 'n' },
            { function: 'sum', expression: 'amout', as: 's' },
          ],
        },
        '/body/aggregations/1/expression',
        /unknown column 'amout'.*did you mean 'amount'\?/,
      ],
      [
        { aggregations: [{ function: 'sum', expression: 'region', as: 's' }] },
        '/body/aggregations/0/expression',
        /sum needs a number, but the expression is text/,
      ],
      [
        { aggregations: [{ function: 'mean', as: 's' }] },
        '/body/aggregations/0/expression',
        /mean needs an expression/,
      ],
      [
        { filter: 'amount + 1', aggregations: [{ function: 'count', as: 'n' }] },
        '/body/filter',
        /expected a condition/,
      ],
      [
        { groupBy: [{ expression: 'regoin', as: 'r' }], aggregations: [{ function: 'count', as: 'n' }] },
        '/body/groupBy/0/expression',
        /unknown column 'regoin'/,
      ],
      [
        { groupBy: [{ expression: 'region', as: 'n' }], aggregations: [{ function: 'count', as: 'n' }] },
        '/body/aggregations/0/as',
        /output name 'n' is used twice/,
      ],
      [
        { aggregations: [{ function: 'count', as: 'total' }], orderBy: [{ column: 'totl' }] },
        '/body/orderBy/0/column',
        /no output column named 'totl'; did you mean 'total'\?/,
      ],
      [{ aggregations: [] }, '/body/aggregations', /./],
      [{ aggregations: [{ function: 'avg', expression: 'amount', as: 'a' }] }, '/body/aggregations/0/function', /./],
    ];
    for (const [body, pointer, message] of cases) {
      const p = await problemOf(await query(ids.sales!, body));
      expect(p.status, JSON.stringify(body)).toBe(400);
      expect(p.code).toBe('validation_failed');
      expect(
        p.errors.map((e) => e.pointer),
        JSON.stringify(body),
      ).toContain(pointer);
      expect(p.errors.find((e) => e.pointer === pointer)!.message).toMatch(message);
    }
  });
});

describe('access', () => {
  it('lets a viewer read, refuses the unauthenticated, hides other workspaces', async () => {
    const viewer = await actor(t, 'viewer');
    const h = await get<{ count: number }>(`${ids.histo}/histogram?column=x`, viewer.headers);
    expect(h.count).toBe(11);
    const q = await query(ids.sales!, { aggregations: [{ function: 'count', as: 'n' }] }, viewer.headers);
    expect(q.status).toBe(200);

    const anonymous = await fetch(`${t.api}/datasets/${ids.histo}/histogram?column=x`);
    expect((await problemOf(anonymous)).status).toBe(401);

    const other = await workspace(t, 'Elsewhere');
    const res = await upload({ api: t.api, auth: { ...t.auth, 'x-weir-workspace': other } }, 'p,q\n1,2\n', {
      name: 'theirs',
    });
    expect(res.status).toBe(201);
    const theirs = ((await res.json()) as { id: string }).id;
    for (const path of [`${theirs}/stats`, `${theirs}/histogram?column=p`, `${theirs}/value-counts?column=p`]) {
      const p = await problemOf(await t.fetch(`${t.api}/datasets/${path}`));
      expect(p.status, path).toBe(404);
    }
    expect((await problemOf(await query(theirs, { aggregations: [{ function: 'count', as: 'n' }] }))).status).toBe(404);
  });

  it('an unknown version is a 404', async () => {
    const p = await problemOf(
      await t.fetch(`${t.api}/datasets/${ids.histo}/histogram?column=x&version=dv_01J00000000000000000000000`),
    );
    expect(p.status).toBe(404);
  });
});

describe('time limit', () => {
  it('stops a query that runs past WEIR_QUERY_TIMEOUT with a query_timeout problem', async () => {
    const slow = await startTestApp({ WEIR_QUERY_TIMEOUT: '1ms' });
    try {
      const res = await upload(slow, longSeries(), { filename: 'long.csv', name: 'long' });
      expect(res.status).toBe(201);
      const id = ((await res.json()) as { id: string }).id;
      const heavy = await fetch(`${slow.api}/datasets/${id}/query`, {
        method: 'POST',
        headers: { ...slow.auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          groupBy: [{ expression: "concat(to_text(v), '-', to_text(ts))", as: 'k' }],
          aggregations: [
            { function: 'median', expression: 'v', as: 'm' },
            { function: 'count_distinct', expression: "concat(to_text(ts), 'x')", as: 'd' },
          ],
        }),
      });
      const p = await problemOf(heavy);
      expect(p.status).toBe(422);
      expect(p.code).toBe('query_timeout');
      expect(p.detail).toBe('The query ran longer than the limit of 1 ms (WEIR_QUERY_TIMEOUT) and was stopped');
      // The answer comes once DuckDB has stopped: the query was interrupted, not left running.
      expect(slow.context.engine.busyConnections).toBe(0);
    } finally {
      await slow.close();
    }
  });
});
