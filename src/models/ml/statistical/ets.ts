/**
 * AutoETS ('ets'): exponential smoothing with the error/trend/season components chosen by AICc, through augurs.
 * The artifact is the configuration, not fitted state: augurs cannot serialize a fitted model or update it with new
 * observations, so forecasting refits on the recent window before each origin (bounded: statistical/origins.ts).
 * augurs 0.10 implements non-seasonal ETS only (a seasonal spec such as 'AAA' finds "no model" and 'ZZZ' quietly
 * drops the season, checked by hand), so 'ets' models level and trend; seasonality is MSTL's job ('mstl' removes
 * the seasons and forecasts the rest with this same AutoETS).
 */
import { readParams } from '../neural/params.js';
import type { FitOptions, ForecastAlgorithm, SeriesProblem } from '../types.js';
import { augursEts } from './augurs.js';
import { validationLoss } from './config.js';
import { forecastOrigins, type FitAndForecast } from './origins.js';

const specs = {
  /** augurs model spec (error, trend, season: A additive, M multiplicative, N none, Z chosen); 'auto' picks. */
  spec: { kind: 'choice', values: ['auto', 'ZZN', 'AAN', 'ANN', 'ZAN', 'ZNN', 'MAN', 'MNN'] },
  window: { kind: 'int', min: 10, max: 20_000 },
  maxRefits: { kind: 'int', min: 1, max: 10_000 },
} as const;

export interface EtsArtifact {
  kind: 'ets';
  /** The augurs spec string, e.g. 'ZZZ'. */
  spec: string;
  window: number;
  maxRefits: number;
  validLoss: number | null;
}

export const ets: ForecastAlgorithm<EtsArtifact> = {
  name: 'ets',

  minHistory: () => 10,

  async fit(problem: SeriesProblem, opts: FitOptions): Promise<EtsArtifact> {
    opts.signal?.throwIfAborted();
    const params = readParams(opts.params, specs);
    // A recent window of a few periods is enough for level and trend, and keeps each refit a few milliseconds.
    const window = params.window ?? Math.min(1000, Math.max(200, 10 * (problem.period ?? 1)));
    const artifact: EtsArtifact = {
      kind: 'ets',
      spec: params.spec && params.spec !== 'auto' ? params.spec : 'ZZN',
      window,
      maxRefits: params.maxRefits ?? 48,
      validLoss: null,
    };
    artifact.validLoss = validationLoss(
      'ets',
      problem,
      { window, maxRefits: Math.min(artifact.maxRefits, 16) },
      fitter(artifact),
      opts,
    );
    return artifact;
  },

  forecast(artifact: EtsArtifact, series: Float64Array, origins: ArrayLike<number>, horizon: number): Float64Array {
    return forecastOrigins(series, origins, horizon, artifact, fitter(artifact), 'repeat-last');
  },
};

function fitter(artifact: EtsArtifact): FitAndForecast {
  const { AutoETS } = augursEts();
  return (history, steps) => {
    const model = new AutoETS(1, artifact.spec);
    try {
      model.fit(history);
      return model.predict(steps).point;
    } finally {
      model.free();
    }
  };
}
