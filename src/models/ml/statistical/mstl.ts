/**
 * MSTL ('mstl'): the series is decomposed into one seasonal component per period (STL, iterated) plus a remainder
 * trend forecast with AutoETS, through augurs; the seasons are repeated into the future. Periods come from
 * params.periods, else SeriesProblem.period (hourly data with a daily period also gets the weekly one, 24 and 168,
 * when the window holds two weeks). Like 'ets', the artifact is configuration: each forecast origin refits on the
 * recent window (bounded: statistical/origins.ts). A period needs two full cycles in the window to be used; with
 * none usable (very early origins) the refit falls back to non-seasonal AutoETS.
 */
import { InvalidParamError, readParams } from '../neural/params.js';
import type { FitOptions, ForecastAlgorithm, SeriesProblem } from '../types.js';
import { augursEts, augursMstl } from './augurs.js';
import { validationLoss } from './config.js';
import { forecastOrigins, type FitAndForecast } from './origins.js';

const specs = {
  periods: { kind: 'ints', min: 2, max: 10_000, maxLength: 4 },
  window: { kind: 'int', min: 10, max: 50_000 },
  maxRefits: { kind: 'int', min: 1, max: 10_000 },
} as const;

const hourMs = 3_600_000;

export interface MstlArtifact {
  kind: 'mstl';
  periods: number[];
  window: number;
  maxRefits: number;
  validLoss: number | null;
}

export const mstl: ForecastAlgorithm<MstlArtifact> = {
  name: 'mstl',

  minHistory: (problem) => 2 * (problem.period ?? 1),

  async fit(problem: SeriesProblem, opts: FitOptions): Promise<MstlArtifact> {
    opts.signal?.throwIfAborted();
    const params = readParams(opts.params, specs);
    let periods = params.periods ?? (problem.period !== null && problem.period >= 2 ? [problem.period] : []);
    if (periods.length === 0)
      throw new InvalidParamError('/period', 'mstl needs a seasonal period (none was given or detected)');
    periods = [...new Set(periods)].sort((a, b) => a - b);
    const longest = periods[periods.length - 1] ?? 2;
    let window = params.window ?? Math.min(5000, Math.max(200, 4 * longest));
    if (
      !params.periods &&
      !params.window &&
      problem.stepMs === hourMs &&
      longest === 24 &&
      problem.trainEnd >= 2 * 168
    ) {
      periods = [24, 168];
      window = 4 * 168;
    }
    const artifact: MstlArtifact = {
      kind: 'mstl',
      periods,
      window,
      maxRefits: params.maxRefits ?? 24,
      validLoss: null,
    };
    artifact.validLoss = validationLoss(
      'mstl',
      problem,
      { window, maxRefits: Math.min(artifact.maxRefits, 8) },
      fitter(artifact),
      opts,
    );
    return artifact;
  },

  forecast(artifact: MstlArtifact, series: Float64Array, origins: ArrayLike<number>, horizon: number): Float64Array {
    return forecastOrigins(series, origins, horizon, artifact, fitter(artifact), 'repeat-last');
  },
};

function fitter(artifact: MstlArtifact): FitAndForecast {
  const { MSTL } = augursMstl();
  return (history, steps) => {
    const usable = artifact.periods.filter((p) => history.length >= 2 * p);
    const model = usable.length > 0 ? MSTL.ets(usable) : new (augursEts().AutoETS)(1, 'ZZN');
    try {
      model.fit(history);
      return model.predict(steps).point;
    } finally {
      model.free();
    }
  };
}
