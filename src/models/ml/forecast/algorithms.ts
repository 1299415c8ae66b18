/** The catalogue of forecast algorithms by name, and which ones `auto` tries. */
import type { ForecastAlgorithm } from '../types.js';
import { BASELINES } from './baselines.js';
import { dlinear, linear, linearEnsemble, nlinear } from './linear.js';

export const FORECAST_ALGORITHMS: ReadonlyMap<string, ForecastAlgorithm> = new Map(
  [...BASELINES, linear, nlinear, dlinear, linearEnsemble].map((a) => [a.name, a as ForecastAlgorithm]),
);

export const BASELINE_NAMES: readonly string[] = BASELINES.map((b) => b.name);

/** Tried by `auto`, cheapest first, so a short budget still yields a model. */
export const AUTO_CANDIDATES: readonly string[] = ['nlinear', 'linear', 'dlinear', 'linear-ensemble'];
