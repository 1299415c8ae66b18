import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../src/jobs/types.js';
import type { Model, ModelVersion } from '../src/models/model.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/identity.js';
import { problemOf, uploadDataset } from './helpers/upload.js';

/**
 * The charts of a model version through HTTP: the numbers, the Vega-Lite spec and the server SVG; the forecast of
 * the test part's last window with its band, residuals of a forecast and of a regression, and the charts a task
 * has no meaning for answered 400 with a pointer.
 */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ WEIR_RATE_LIMIT_USER: 'off' }, { jobs: 'inline' });
});
afterAll(async () => {
  await t?.close();
});

const call = (method: string, path: string, body?: unknown) =>
  t.fetch(`${t.api}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function ok<T>(res: Response, status = 200): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as T;
}

async function trained(body: Record<string, unknown>): Promise<Model> {
  const accepted = await ok<{ model: Model; job: Job }>(await call('POST', '/models', body), 202);
  const job = await eventually(
    async () => ok<Job>(await call('GET', `/jobs/${accepted.job.id}`)),
    (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    20_000,
  );
  expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  return accepted.model;
}

/** Hourly sawtooth 0..9: repeat-last forecasts the last value, so the errors of the last window are known. */
function hourlyCsv(rows: number): string {
  const lines = ['at,load'];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++) lines.push(`${new Date(start + i * 3_600_000).toISOString()},${i % 10}`);
  return lines.join('\n') + '\n';
}

/** 100 rows, y = 2·x: the mean baseline predicts the train mean, 69. */
function regressionCsv(): string {
  const lines = ['x,y'];
  for (let i = 0; i < 100; i++) lines.push(`${i},${2 * i}`);
  return lines.join('\n') + '\n';
}

interface ChartAnswer<D> {
  modelId: string;
  versionId: string;
  number: number;
  chart: string;
  data: D;
}

const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);

describe('forecast model charts', () => {
  let model: Model;
  let version: ModelVersion;

  beforeAll(async () => {
    const data = await uploadDataset(t, hourlyCsv(200), { filename: 'load.csv' });
    model = await trained({
      name: 'load',
      datasetId: data.id,
      task: 'forecast',
      target: 'load',
      timeColumn: 'at',
      horizon: 3,
      // Repeat-last, so every drawn figure can be computed by hand below.
      algorithm: 'repeat-last',
    });
    version = await ok<ModelVersion>(await call('GET', `/models/${model.id}/versions/1`));
  });

  it('draws the last window of the test part: 3 horizons of actuals, the forecast and the widest band', async () => {
    const answer = await ok<
      ChartAnswer<{
        kind: string;
        temporal: boolean;
        series: string;
        actual: { x: number; value: number }[];
        forecast: { x: number; value: number }[];
        level: number;
        band: { x: number; lower: number; upper: number }[];
      }>
    >(await call('GET', `/models/${model.id}/versions/1/charts/forecast`));
    expect(answer).toMatchObject({ modelId: model.id, versionId: version.id, number: 1, chart: 'forecast' });
    const d = answer.data;
    expect(d).toMatchObject({ kind: 'forecast', temporal: true, series: 'load', level: 0.95 });
    // The origin is row 197 (200 − 3); actuals from 197 − 9 = 188 to 199.
    expect(d.actual).toEqual(
      Array.from({ length: 12 }, (_, k) => ({ x: START + (188 + k) * HOUR, value: (188 + k) % 10 })),
    );
    // Repeat-last: row 196 holds 6.
    expect(d.forecast).toEqual([197, 198, 199].map((i) => ({ x: START + i * HOUR, value: 6 })));
    // The report keeps the interval widths on the normalized scale (one scale serves every series); the chart draws
    // them on the series' own scale: symmetric around the forecast, each step's half-width the same multiple (the
    // series' train-part standard deviation) of the report's width.
    const widths = version.report.intervals!.quantiles[version.report.intervals!.levels.indexOf(0.95)]!;
    expect(d.band.map((b) => b.x)).toEqual([197, 198, 199].map((i) => START + i * HOUR));
    const scales = d.band.map((b, h) => {
      expect((b.lower + b.upper) / 2).toBeCloseTo(6, 9);
      return (b.upper - b.lower) / 2 / widths[h]!;
    });
    expect(scales[0]!).toBeGreaterThan(0);
    for (const k of scales) expect(k).toBeCloseTo(scales[0]!, 9);
  });

  it('answers residuals per horizon step and the error per step from the report', async () => {
    const residuals = await ok<ChartAnswer<unknown>>(
      await call('GET', `/models/${model.id}/versions/${version.id}/charts/residuals`),
    );
    // Actual 7, 8, 9 against 6.
    expect(residuals.data).toEqual({
      kind: 'residuals',
      against: 'step',
      points: [
        { x: 1, residual: 1 },
        { x: 2, residual: 2 },
        { x: 3, residual: 3 },
      ],
    });
    const perStep = await ok<ChartAnswer<unknown>>(
      await call('GET', `/models/${model.id}/versions/1/charts/horizon-error`),
    );
    const expected = Object.entries(version.report.metrics).flatMap(([algorithm, m]) =>
      (m.perStep ?? []).flatMap((s, i) => (s.mse === null ? [] : [{ step: i + 1, algorithm, mse: s.mse }])),
    );
    expect(perStep.data).toEqual({ kind: 'horizon-error', points: expected });
  });

  it('answers a self-contained Vega-Lite spec and a server SVG', async () => {
    const res = await call(
      'GET',
      `/models/${model.id}/versions/1/charts/forecast?format=vega-lite&width=500&height=200`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const spec = (await res.json()) as {
      $schema: string;
      width: number;
      height: number;
      title: { text: string };
      layer: { data: { values: unknown[] } }[];
    };
    expect(spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v6.json');
    expect([spec.width, spec.height]).toEqual([500, 200]);
    expect(spec.title.text).toBe('Actual and forecast · load v1');
    expect(spec.layer.map((l) => l.data.values.length)).toEqual([3, 15]); // band; 12 actual + 3 forecast points
    const svg = await call('GET', `/models/${model.id}/versions/1/charts/forecast?format=svg&title=`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(svg.headers.get('content-security-policy')).toContain("default-src 'none'");
    const text = await svg.text();
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).not.toContain('Actual and forecast');
  });
});

describe('regression model charts', () => {
  let model: Model;

  beforeAll(async () => {
    const data = await uploadDataset(t, regressionCsv(), { filename: 'double.csv' });
    model = await trained({ name: 'double', datasetId: data.id, task: 'regression', target: 'y', algorithm: 'mean' });
  });

  it('plots residuals of the test part against the prediction', async () => {
    const answer = await ok<ChartAnswer<unknown>>(await call('GET', `/models/${model.id}/versions/1/charts/residuals`));
    // Test part: rows 80..99; the mean of 2·i over i < 70 is 69.
    expect(answer.data).toEqual({
      kind: 'residuals',
      against: 'prediction',
      points: Array.from({ length: 20 }, (_, k) => ({ x: 69, residual: 2 * (80 + k) - 69 })),
    });
    const svg = await call('GET', `/models/${model.id}/versions/1/charts/residuals?format=svg`);
    expect(svg.status).toBe(200);
    expect(await svg.text()).toContain('Actual − predicted');
  });

  it('draws the loss curve and importance from the report', async () => {
    const v = await ok<ModelVersion>(await call('GET', `/models/${model.id}/versions/1`));
    const loss = await ok<ChartAnswer<unknown>>(await call('GET', `/models/${model.id}/versions/1/charts/loss`));
    // A baseline has no curve (the mapping of a curve is unit-tested in src/models/charts.test.ts).
    expect(v.report.losses).toEqual([]);
    expect(loss.data).toEqual({ kind: 'loss', points: [] });
    const importance = await ok<ChartAnswer<{ kind: string; bars: unknown[] }>>(
      await call('GET', `/models/${model.id}/versions/1/charts/importance`),
    );
    expect(importance.data.kind).toBe('importance');
    expect(importance.data.bars).toEqual(
      [...v.report.importance].sort((a, b) => b.value - a.value).map(({ feature, value }) => ({ feature, value })),
    );
    const spec = await ok<{ mark: { type: string } }>(
      await call('GET', `/models/${model.id}/versions/1/charts/loss?format=vega-lite`),
    );
    expect(spec.mark.type).toBe('line');
  });

  it('refuses the charts a regression has no meaning for, an unknown chart and an unknown version', async () => {
    for (const chart of ['forecast', 'horizon-error']) {
      const res = await call('GET', `/models/${model.id}/versions/1/charts/${chart}`);
      expect(res.status).toBe(400);
      expect((await problemOf(res)).errors).toEqual([
        { pointer: '/params/chart', message: 'the model is not a forecast' },
      ]);
    }
    expect((await call('GET', `/models/${model.id}/versions/1/charts/pie`)).status).toBe(400);
    expect((await call('GET', `/models/${model.id}/versions/9/charts/loss`)).status).toBe(404);
    expect((await call('GET', `/models/${model.id}/versions/1/charts/loss?format=png`)).status).toBe(400);
  });
});
