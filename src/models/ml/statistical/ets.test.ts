import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { SeriesProblem } from '../types.js';
import { ets } from './ets.js';

function trendProblem(slope: number): SeriesProblem {
  const random = new Random(1);
  const series = [Float64Array.from({ length: 300 }, (_, i) => slope * i + 0.1 * random.normal())];
  return { series, trainEnd: 200, validEnd: 250, horizon: 5, lookback: 20, period: null, times: null, stepMs: null };
}

describe('ets', () => {
  it('forecasts the direction of a trend, up and down', async () => {
    for (const slope of [0.05, -0.05]) {
      const problem = trendProblem(slope);
      const artifact = await ets.fit(problem, { seed: 1 });
      expect(artifact.spec).toBe('ZZN');
      expect(artifact.validLoss).toBeLessThan(0.05);
      const series = problem.series[0] as Float64Array;
      const forecast = ets.forecast(artifact, series, [280], 5, null);
      expect(Math.sign((forecast[4] ?? 0) - (forecast[0] ?? 0))).toBe(Math.sign(slope));
      expect(Math.abs((forecast[4] ?? 0) - slope * 284)).toBeLessThan(0.5);
    }
  });

  it('round-trips its artifact through JSON with identical forecasts from many origins', async () => {
    const problem = trendProblem(0.02);
    const artifact = await ets.fit(problem, { seed: 1, params: { maxRefits: 4, window: 100 } });
    const restored = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    const series = problem.series[0] as Float64Array;
    const origins = Array.from({ length: 40 }, (_, k) => 250 + k);
    const forecast = ets.forecast(artifact, series, origins, 5, null);
    expect(ets.forecast(restored, series, origins, 5, null)).toEqual(forecast);
    expect(forecast.every(Number.isFinite)).toBe(true);
  });

  it('never looks past validEnd while fitting', async () => {
    const problem = trendProblem(0.03);
    const poisoned = Float64Array.from(problem.series[0] as Float64Array).fill(1e6, problem.validEnd);
    const clean = await ets.fit(problem, { seed: 1 });
    expect(await ets.fit({ ...problem, series: [poisoned] }, { seed: 1 })).toEqual(clean);
  });

  it('reports progress, refuses unknown parameters and rejects when aborted', async () => {
    const phases: string[] = [];
    await ets.fit(trendProblem(0.01), { seed: 1, progress: (p) => phases.push(`${p.phase} ${p.iteration}/${p.of}`) });
    expect(phases).toEqual(['fitting 1/1']);
    await expect(ets.fit(trendProblem(0.01), { seed: 1, params: { season: 12 } })).rejects.toMatchObject({
      pointer: '/params/season',
    });
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(ets.fit(trendProblem(0.01), { seed: 1, signal: controller.signal })).rejects.toThrow('cancelled');
  });
});
