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
 * Tree candidates of `auto`. Their training rows are a strided sample of the windows capped in size (gbdt.ts), so
 * their cost does not grow with the series; they are tried up to TREE_MAX_ROWS rows (windows × steps × series)
 * before the stride, beyond which fewer than one window in 200 would be seen, and when at least
 * TREE_MIN_BUDGET_MS of the budget remains.
 */
export const TREE_CANDIDATES: readonly string[] = ['gbdt', 'blend'];
export const TREE_MAX_ROWS = 30_000_000;
export const TREE_MIN_BUDGET_MS = 5_000;
