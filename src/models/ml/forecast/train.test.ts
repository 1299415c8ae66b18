import { describe, expect, it } from 'vitest';
import { TrainingInputError } from '../errors.js';
import { Random } from '../random.js';
import { forecastFrom, trainForecast, type ForecastTrainingInput } from './train.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

function seasonalInput(n = 1200, seed = 9): ForecastTrainingInput {
  const rng = new Random(seed);
  const make = (amp: number) =>
    Float64Array.from(
      { length: n },
      (_, i) => 20 + amp * Math.sin((2 * Math.PI * i) / 24) + 0.01 * i + 0.3 * rng.normal(),
    );
  return {
    series: [make(5), make(3)],
    seriesNames: ['a', 'b'],
    times: Float64Array.from({ length: n }, (_, i) => T0 + i * HOUR),
    stepMs: HOUR,
    horizon: 12,
    lookback: 48,
    algorithm: 'auto',
  };
}

async function expectInputError(input: ForecastTrainingInput, pointer: string) {
  const err = await trainForecast(input, { seed: 1 }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrainingInputError);
  expect((err as TrainingInputError).pointer).toBe(pointer);
}

describe('trainForecast', () => {
  it('trains every baseline and the candidates, picks on validation and beats repeat-last on the test part', async () => {
    const { report, artifact } = await trainForecast(seasonalInput(), { seed: 1 });
    expect(report.leaderboard.map((l) => l.algorithm)).toEqual([
      'repeat-last',
      'seasonal-naive',
      'mean',
      'drift',
      'nlinear',
      'linear',
      'dlinear',
      'linear-ensemble',
      'gbdt',
      'blend',
    ]);
    expect(report.leaderboard.every((l) => l.status === 'ok')).toBe(true);
    // The default rule (one standard error) picks report.algorithm; 'lowest' is the lowest validation MSE's.
    const best = Math.min(...report.leaderboard.map((l) => l.validation['mse']!));
    const lowest = (report.params['selection'] as { lowest: string }).lowest;
    expect(report.leaderboard.find((l) => l.algorithm === lowest)!.validation['mse']).toBe(best);
    expect(report.leaderboard.find((l) => l.algorithm === report.algorithm)!.validation['mse']).toBeGreaterThanOrEqual(
      best,
    );
    expect(['nlinear', 'linear', 'dlinear', 'linear-ensemble', 'gbdt', 'blend']).toContain(report.algorithm);
    const chosen = report.metrics[report.algorithm]!;
    expect(chosen.skill!).toBeGreaterThan(0.5);
    expect(report.metrics['repeat-last']!.skill).toBe(0);
    expect(chosen.perStep).toHaveLength(12);
    // Original-scale MSE = normalized MSE × scale² when the series share a scale; here, at least both exist.
    expect(chosen.original['mse']).toBeGreaterThan(0);
    expect(chosen.normalized['mase']).toBeGreaterThan(0);
    expect(report.data).toEqual({ rows: 1200, train: 840, validation: 120, test: 240, missing: { a: 0, b: 0 } });
    expect(report.intervals!.levels).toEqual([0.8, 0.95]);
    expect(artifact.period).toBe(24);
    const selection = report.params['selection'] as { rule: string; lowest: string; oneStandardError: string };
    expect(selection.rule).toBe('one-se');
    expect(selection.oneStandardError).toBe(report.algorithm);
    expect(['nlinear', 'linear', 'dlinear', 'linear-ensemble', 'gbdt', 'blend']).toContain(selection.oneStandardError);
    const byLowest = await trainForecast({ ...seasonalInput(), selection: 'best' }, { seed: 1 });
    expect(byLowest.report.algorithm).toBe(selection.lowest);
    expect(JSON.parse(JSON.stringify(artifact))).toEqual(artifact);
  });

  it('is deterministic: same seed and data give the same report metrics and artifact', async () => {
    const a = await trainForecast({ ...seasonalInput(), algorithm: 'nlinear' }, { seed: 3 });
    const b = await trainForecast({ ...seasonalInput(), algorithm: 'nlinear' }, { seed: 3 });
    expect(JSON.stringify(a.artifact)).toBe(JSON.stringify(b.artifact));
    expect(JSON.stringify(a.report.metrics)).toBe(JSON.stringify(b.report.metrics));
  });

  it('never sees the test part: changing every test value leaves scaler and artifact identical', async () => {
    const input = { ...seasonalInput(), algorithm: 'linear-ensemble' };
    const changed = { ...input, series: input.series.map((s) => s.map((v, i) => (i >= 960 ? v * 7 - 100 : v))) };
    const a = await trainForecast(input, { seed: 1 });
    const b = await trainForecast(changed, { seed: 1 });
    expect(b.artifact).toEqual(a.artifact);
    expect(b.report.metrics['linear-ensemble']!.normalized['mse']).not.toBe(
      a.report.metrics['linear-ensemble']!.normalized['mse'],
    );
  });

  it('never lets the trees or the blend see the test part either', async () => {
    const input = { ...seasonalInput(), algorithm: 'blend' };
    const changed = { ...input, series: input.series.map((s) => s.map((v, i) => (i >= 960 ? v * 7 - 100 : v))) };
    const a = await trainForecast(input, { seed: 1 });
    const b = await trainForecast(changed, { seed: 1 });
    expect(JSON.stringify(b.artifact)).toBe(JSON.stringify(a.artifact));
    expect(b.report.metrics['blend']!.normalized['mse']).not.toBe(a.report.metrics['blend']!.normalized['mse']);
    expect(a.report.losses).toHaveLength(11); // validation MSE per blend weight
  });

  it('forecasts from new history in the original scale, with bands around the point forecast', async () => {
    const input = { ...seasonalInput(), algorithm: 'seasonal-naive' };
    const { artifact } = await trainForecast(input, { seed: 1 });
    const history = input.series.map((s) => s.subarray(0, 1000));
    const lastTime = T0 + 999 * HOUR;
    const out = forecastFrom(artifact, history, 6, lastTime);
    expect(out.times).toEqual(Array.from({ length: 6 }, (_, h) => lastTime + (h + 1) * HOUR));
    // Seasonal naive repeats the value one day earlier, in the original scale.
    expect(out.series[0]!.values[0]).toBeCloseTo(input.series[0]![1000 - 24]!, 9);
    const band = out.series[1]!.intervals.find((b) => b.level === 0.95)!;
    expect(band.lower[0]!).toBeLessThan(out.series[1]!.values[0]!);
    expect(band.upper[0]!).toBeGreaterThan(out.series[1]!.values[0]!);
    expect(() => forecastFrom(artifact, history, 13, lastTime)).toThrow(TrainingInputError);
    expect(() => forecastFrom(artifact, [history[0]!.subarray(0, 10), history[1]!], 6, lastTime)).toThrow(
      /at least 48/,
    );
  });

  it('asks for the last time when a calendar model forecasts without it', async () => {
    // A lookback a quarter of the daily period cannot carry the hour-of-day profile, so calendar terms win on
    // validation here.
    const input = { ...seasonalInput(), lookback: 6, algorithm: 'linear', params: { lambda: 0.01 } };
    const { artifact } = await trainForecast(input, { seed: 1 });
    const model = artifact.model as { calendar: unknown[] };
    expect(model.calendar.length).toBeGreaterThan(0);
    const history = input.series.map((s) => s.subarray(0, 1000));
    const err = (() => {
      try {
        forecastFrom(artifact, history, 6, null);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TrainingInputError);
    expect((err as TrainingInputError).pointer).toBe('/lastTime');
  });

  it('refuses input the user must fix, with a pointer', async () => {
    await expectInputError({ ...seasonalInput(100), horizon: 500, lookback: undefined }, '/horizon');
    const allNull = seasonalInput();
    allNull.series[1] = new Float64Array(1200).fill(NaN);
    await expectInputError(allNull, '/target');
    await expectInputError({ ...seasonalInput(), algorithm: 'prophet' }, '/algorithm');
    await expectInputError({ ...seasonalInput(), split: { trainEnd: 900, validEnd: 800 } }, '/split');
    await expectInputError({ ...seasonalInput(), lookback: 5000 }, '/lookback');
    await expectInputError({ ...seasonalInput(), horizon: 0 }, '/horizon');
  });

  it('handles missing values (filled for inputs, skipped in metrics, counted) and a budget that skips candidates', async () => {
    const input = seasonalInput();
    input.series[0]![100] = NaN;
    input.series[0]![1100] = NaN;
    const { report } = await trainForecast({ ...input, budgetMs: 0 }, { seed: 1 });
    expect(report.data.missing).toEqual({ a: 2, b: 0 });
    expect(report.leaderboard.filter((l) => l.status === 'skipped').map((l) => l.algorithm)).toEqual([
      'nlinear',
      'linear',
      'dlinear',
      'linear-ensemble',
      'gbdt',
      'blend',
    ]);
    expect(BASELINES_OK(report.leaderboard)).toBe(true);
    expect(report.metrics['seasonal-naive']!.normalized['mse']).not.toBeNull();
  });

  it('honours cancellation', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(trainForecast(seasonalInput(), { seed: 1, signal: controller.signal })).rejects.toThrow('cancelled');
  });
});

function BASELINES_OK(leaderboard: { algorithm: string; status: string }[]): boolean {
  return ['repeat-last', 'seasonal-naive', 'mean', 'drift'].every(
    (b) => leaderboard.find((l) => l.algorithm === b)?.status === 'ok',
  );
}
