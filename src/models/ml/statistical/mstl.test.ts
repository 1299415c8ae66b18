import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { SeriesProblem } from '../types.js';
import { mstl } from './mstl.js';

/** Two seasons (6 and 30 steps) on a slow trend, with noise. */
function twoSeasons(): { problem: SeriesProblem; full: Float64Array } {
  const random = new Random(2);
  const full = Float64Array.from(
    { length: 480 },
    (_, i) =>
      0.01 * i + Math.sin((2 * Math.PI * i) / 6) + 0.8 * Math.sin((2 * Math.PI * i) / 30) + 0.05 * random.normal(),
  );
  const problem: SeriesProblem = {
    series: [full.slice(0, 400)],
    trainEnd: 340,
    validEnd: 400,
    horizon: 6,
    lookback: 30,
    period: 6,
    times: null,
    stepMs: null,
  };
  return { problem, full };
}

describe('mstl', () => {
  it('beats seasonal naive on a two-season series, from every test origin', async () => {
    const { problem, full } = twoSeasons();
    const artifact = await mstl.fit(problem, { seed: 1, params: { periods: [30, 6], window: 240, maxRefits: 8 } });
    expect(artifact.periods).toEqual([6, 30]);
    const origins = Array.from({ length: full.length - problem.horizon - 400 + 1 }, (_, k) => 400 + k);
    const forecast = mstl.forecast(artifact, full, origins, problem.horizon, null);
    let model = 0;
    let naive = 0;
    origins.forEach((t, k) => {
      for (let h = 0; h < problem.horizon; h++) {
        const actual = full[t + h] ?? NaN;
        model += (actual - (forecast[k * problem.horizon + h] ?? NaN)) ** 2;
        naive += (actual - (full[t + h - 6] ?? NaN)) ** 2;
      }
    });
    expect(model).toBeLessThan(naive * 0.5);
  });

  it('takes its period from the problem, round-trips through JSON and needs a period', async () => {
    const { problem, full } = twoSeasons();
    const artifact = await mstl.fit(problem, { seed: 1, params: { maxRefits: 3 } });
    expect(artifact.periods).toEqual([6]);
    expect(artifact.window).toBe(200);
    const restored = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    expect(mstl.forecast(restored, full, [410, 420], 6, null)).toEqual(
      mstl.forecast(artifact, full, [410, 420], 6, null),
    );
    expect(mstl.minHistory(problem)).toBe(12);
    await expect(mstl.fit({ ...problem, period: null }, { seed: 1 })).rejects.toMatchObject({ pointer: '/period' });
  });

  it('adds the weekly period to a daily one on hourly data', async () => {
    const random = new Random(4);
    const series = [
      Float64Array.from({ length: 800 }, (_, i) => Math.sin((2 * Math.PI * i) / 24) + 0.1 * random.normal()),
    ];
    const problem: SeriesProblem = {
      series,
      trainEnd: 700,
      validEnd: 800,
      horizon: 4,
      lookback: 48,
      period: 24,
      times: null,
      stepMs: 3_600_000,
    };
    const artifact = await mstl.fit(problem, { seed: 1, params: { maxRefits: 2 } });
    expect(artifact.periods).toEqual([24, 168]);
    expect(artifact.window).toBe(672);
  });
});
