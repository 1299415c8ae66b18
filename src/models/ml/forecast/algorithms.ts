/** The catalogue of forecast algorithms by name, and which ones `auto` tries. */
import type { ForecastAlgorithm } from '../types.js';
import { BASELINES } from './baselines.js';
import { blend, gbdtForecast } from './gbdt.js';
import { dlinear, linear, linearEnsemble, nlinear } from './linear.js';
import { mlpForecast } from '../neural/mlp.js';
import { ets } from '../statistical/ets.js';
import { mstl } from '../statistical/mstl.js';

export const FORECAST_ALGORITHMS: ReadonlyMap<string, ForecastAlgorithm> = new Map(
  [...BASELINES, linear, nlinear, dlinear, linearEnsemble, gbdtForecast, blend, mlpForecast, ets, mstl].map((a) => [
    a.name,
    a as ForecastAlgorithm,
  ]),
);

export const BASELINE_NAMES: readonly string[] = BASELINES.map((b) => b.name);

/** Tried by `auto`, cheapest first, so a short budget still yields a model. */
export const AUTO_CANDIDATES: readonly string[] = ['nlinear', 'linear', 'dlinear', 'linear-ensemble', 'gbdt', 'blend'];

/**
 * Tree candidates of `auto` and the training rows (windows × steps × series, before the stride caps them) up to
 * which they are tried: beyond, the capped sample is too thin a view of the series to compete, and the fit too slow
 * for the default budget. Also skipped when less than TREE_MIN_BUDGET_MS of the budget remains.
 */
export const TREE_CANDIDATES: readonly string[] = ['gbdt', 'blend'];
export const TREE_MAX_ROWS = 2_000_000;
export const TREE_MIN_BUDGET_MS = 5_000;
