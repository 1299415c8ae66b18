import type { TabularAlgorithm } from '../types.js';
import { majorityBaseline, meanBaseline } from './baselines.js';

/** Baselines: always trained and reported beside the model; never what `auto` tries as a candidate. */
export const TABULAR_BASELINES: Record<string, TabularAlgorithm> = {
  mean: meanBaseline as TabularAlgorithm,
  majority: majorityBaseline as TabularAlgorithm,
};

/**
 * The learned tabular algorithms `auto` tries and a request may name. 'gbdt' (helper B) and 'mlp' (helper E) are
 * added here when they land.
 */
export const TABULAR_ALGORITHMS: Record<string, TabularAlgorithm> = {};

export function tabularAlgorithm(name: string): TabularAlgorithm | undefined {
  return TABULAR_ALGORITHMS[name] ?? TABULAR_BASELINES[name];
}

export function tabularAlgorithmNames(): string[] {
  return [...Object.keys(TABULAR_ALGORITHMS), ...Object.keys(TABULAR_BASELINES)];
}
