import type { TabularAlgorithm } from '../types.js';
import { gbdt } from '../gbdt/gbdt.js';
import { mlpTabular } from '../neural/mlp.js';
import { majorityBaseline, meanBaseline } from './baselines.js';
import { linearAlgorithm } from './linear.js';

/** Baselines: always trained and reported beside the model; never what `auto` tries as a candidate. */
export const TABULAR_BASELINES: Record<string, TabularAlgorithm> = {
  mean: meanBaseline as TabularAlgorithm,
  majority: majorityBaseline as TabularAlgorithm,
};

/**
 * The learned tabular algorithms a request may name and `auto` tries, in this order (cheapest and strongest first,
 * so a short budget still yields a good model): the linear model, gradient-boosted trees, then the MLP.
 */
export const TABULAR_ALGORITHMS: Record<string, TabularAlgorithm> = {
  linear: linearAlgorithm as TabularAlgorithm,
  gbdt: gbdt as TabularAlgorithm,
  mlp: mlpTabular as TabularAlgorithm,
};

export function tabularAlgorithm(name: string): TabularAlgorithm | undefined {
  return TABULAR_ALGORITHMS[name] ?? TABULAR_BASELINES[name];
}

export function tabularAlgorithmNames(): string[] {
  return [...Object.keys(TABULAR_ALGORITHMS), ...Object.keys(TABULAR_BASELINES)];
}
