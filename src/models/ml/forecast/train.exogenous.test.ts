import { describe, expect, it } from 'vitest';
import { TrainingInputError } from '../errors.js';
import { Random } from '../random.js';
import { forecastFrom, trainForecast, type ForecastTrainingInput } from './train.js';

const LAG = 6;

/** A white-noise covariate x and a target that is x six steps late: y_t = 3·x_{t−6} + 10. */
function laggedCopy(n = 900, seed = 4): { x: Float64Array; y: Float64Array; input: ForecastTrainingInput } {
  const rng = new Random(seed);
  const x = Float64Array.from({ length: n }, () => rng.normal());
  const y = Float64Array.from({ length: n }, (_, i) => (i >= LAG ? 3 * x[i - LAG]! + 10 : 10));
  return {
    x,
    y,
    input: {
      series: [y],
      seriesNames: ['y'],
      times: null,
      stepMs: null,
      horizon: 4,
      lookback: 16,
      algorithm: 'nlinear',
      exogenous: [{ name: 'x', values: x }],
    },
  };
}

async function inputError(input: ForecastTrainingInput): Promise<TrainingInputError> {
  const err = await trainForecast(input, { seed: 1 }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrainingInputError);
  return err as TrainingInputError;
}

describe('trainForecast with exogenous columns', () => {
  it('forecasts a lagged copy of a covariate almost exactly with it, and not at all without it', async () => {
    const { input } = laggedCopy();
    const withX = await trainForecast(input, { seed: 1 });
    const withoutX = await trainForecast({ ...input, exogenous: undefined }, { seed: 1 });
    expect(withX.report.metrics['nlinear']!.normalized['mse']!).toBeLessThan(1e-4);
    expect(withX.report.metrics['nlinear']!.skill!).toBeGreaterThan(0.999);
    // Without the covariate the target is white noise: nothing beats its mean.
    expect(withoutX.report.metrics['nlinear']!.normalized['mse']!).toBeGreaterThan(0.8);
    expect(withX.report.params['exogenous']).toEqual(['x']);
    expect(withX.report.params['exogenousLookback']).toBe(16);
    expect(withX.artifact.exogenous?.names).toEqual(['x']);
    expect(withX.artifact.exogenous?.lookback).toBe(16);
    expect(withoutX.artifact.exogenous).toBeUndefined();
    expect(withX.report.data.missing).toEqual({ y: 0, x: 0 });
  });

  it('reports the ridge-strength validation curve and the covariate as the most important input', async () => {
    const { report } = await trainForecast(laggedCopy().input, { seed: 1 });
    expect(report.losses.map((l) => l.iteration)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(report.losses.every((l) => l.train === null && typeof l.validation === 'number')).toBe(true);
    const chosenLambda = report.params['lambda'];
    const lambdas = [1e-6, 1e-3, 0.01, 0.1, 0.3, 1];
    const curve = report.losses.map((l) => l.validation!);
    expect(curve[lambdas.indexOf(chosenLambda as number)]).toBe(Math.min(...curve));
    expect(report.importance.every((g) => g.kind === 'permutation')).toBe(true);
    expect(report.importance.map((g) => g.feature)).toEqual([
      'lags 1-2',
      'lags 3-4',
      'lags 5-6',
      'lags 7-8',
      'lags 9-10',
      'lags 11-12',
      'lags 13-14',
      'lags 15-16',
      'x',
    ]);
    const x = report.importance.find((g) => g.feature === 'x')!.value;
    // Permuting x's windows across origins destroys the signal: twice the target's variance (2 on the scaled axis).
    expect(x).toBeGreaterThan(1.8);
    expect(x).toBeLessThan(2.2);
    // Target lags 1-10 are themselves copies of x's window (y_{t−k} = 3·x_{t−k−6} + 10), so ridge spreads a little
    // weight onto them; lags 11-16 carry nothing the covariate window does not.
    for (const g of report.importance) if (g.feature !== 'x') expect(g.value).toBeLessThan(x / 10);
    for (const f of ['lags 11-12', 'lags 13-14', 'lags 15-16'])
      expect(report.importance.find((g) => g.feature === f)!.value).toBeLessThan(1e-9);
  });

  it('forecasts from the recent history of target and covariate', async () => {
    const { x, y, input } = laggedCopy();
    const { artifact } = await trainForecast(input, { seed: 1 });
    const end = 850;
    const out = forecastFrom(
      artifact,
      [y.subarray(end - 40, end)],
      4,
      null,
      [],
      [{ name: 'x', values: x.subarray(end - 20, end) }],
    );
    const expected = [0, 1, 2, 3].map((h) => 3 * x[end + h - LAG]! + 10);
    out.series[0]!.values.forEach((v, h) => expect(v).toBeCloseTo(expected[h]!, 2));
    const missing = (() => {
      try {
        forecastFrom(artifact, [y.subarray(0, end)], 4, null);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(TrainingInputError);
    expect((missing as TrainingInputError).pointer).toBe('/exogenous');
    expect(() =>
      forecastFrom(artifact, [y.subarray(0, end)], 4, null, [], [{ name: 'x', values: x.subarray(0, 10) }]),
    ).toThrow(/at least 16 values/);
  });

  it('never sees the test part of a covariate: changing it leaves scalers and model identical', async () => {
    const { x, y, input } = laggedCopy();
    const validEnd = Math.floor(x.length * 0.8);
    const changed = (v: Float64Array) => v.map((value, i) => (i >= validEnd ? value * -7 + 100 : value));
    const a = await trainForecast(input, { seed: 1 });
    const b = await trainForecast(
      { ...input, series: [changed(y)], exogenous: [{ name: 'x', values: changed(x) }] },
      { seed: 1 },
    );
    expect(b.artifact.exogenous).toEqual(a.artifact.exogenous);
    expect(b.artifact.scalers).toEqual(a.artifact.scalers);
    expect(JSON.stringify(b.artifact.model)).toBe(JSON.stringify(a.artifact.model));
  });

  it('refuses bad exogenous input with a pointer', async () => {
    const { x, input } = laggedCopy();
    expect((await inputError({ ...input, exogenous: [{ name: 'x', values: x.subarray(1) }] })).pointer).toBe(
      '/exogenous/0/values',
    );
    expect((await inputError({ ...input, exogenousLookback: 17 })).pointer).toBe('/exogenousLookback');
    expect(
      (
        await inputError({
          ...input,
          exogenous: [
            { name: 'x', values: x },
            { name: 'x', values: x },
          ],
        })
      ).pointer,
    ).toBe('/exogenous/1/name');
    expect(
      (await inputError({ ...input, exogenous: [{ name: 'x', values: new Float64Array(x.length).fill(NaN) }] }))
        .pointer,
    ).toBe('/exogenous/0/values');
  });
});
