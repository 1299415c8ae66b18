/**
 * What ETS and MSTL share: the validation-loss pass of fit() over the validation origins, which both reports
 * progress and proves the model can be fitted on this data (so `auto` marks a failing one as failed at fit time,
 * not in the backtest).
 */
import type { FitOptions, SeriesProblem } from '../types.js';
import { forecastOrigins, type FitAndForecast, type RefitSchedule } from './origins.js';

/** Mean squared error over the validation origins of every series (refits bounded by the schedule); null if none. */
export function validationLoss(
  algorithm: string,
  problem: SeriesProblem,
  schedule: RefitSchedule,
  fitAndForecast: FitAndForecast,
  opts: FitOptions,
): number | null {
  let sum = 0;
  let count = 0;
  problem.series.forEach((values, s) => {
    opts.signal?.throwIfAborted();
    const series = values.subarray(0, problem.validEnd);
    const origins: number[] = [];
    for (let t = problem.trainEnd; t + problem.horizon <= problem.validEnd; t++) origins.push(t);
    if (origins.length === 0) origins.push(problem.validEnd);
    const forecast = forecastOrigins(series, origins, problem.horizon, schedule, fitAndForecast, 'throw');
    origins.forEach((t, k) => {
      for (let h = 0; h < problem.horizon; h++) {
        const actual = series[t + h] ?? NaN;
        const predicted = forecast[k * problem.horizon + h] ?? NaN;
        if (!Number.isFinite(actual) || !Number.isFinite(predicted)) continue;
        sum += (actual - predicted) ** 2;
        count++;
      }
    });
    opts.progress?.({
      phase: 'fitting',
      algorithm,
      iteration: s + 1,
      of: problem.series.length,
      validLoss: count > 0 ? sum / count : undefined,
    });
  });
  return count > 0 ? sum / count : null;
}
