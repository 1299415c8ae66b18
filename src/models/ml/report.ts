import type { Task } from './types.js';

/**
 * What training returns and the registry stores with a model version (plain JSON). Every test-part metric is
 * reported for the chosen model and for every baseline, so a reader sees at once whether the model earns its keep.
 */

export type MetricValues = Record<string, number | null>;

export interface LeaderboardEntry {
  algorithm: string;
  params: Record<string, unknown>;
  /** Validation-part metrics (selection happens on these, never on the test part). */
  validation: MetricValues;
  trainMs: number;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
}

export interface AlgorithmMetrics {
  original: MetricValues;
  /** Regression: target standardized with train statistics; forecast: the scaler's scale; classification: same as original. */
  normalized: MetricValues;
  /** Forecast: error per horizon step. */
  perStep?: { mse: number | null; mae: number | null }[];
  /** Forecast: 1 − MSE / MSE(repeat-last). */
  skill?: number | null;
  /** Classification: rows = actual class, columns = predicted class. */
  confusion?: number[][];
}

export interface LossPoint {
  iteration: number;
  train: number | null;
  validation: number | null;
}

export interface FeatureImportance {
  feature: string;
  value: number;
  kind: 'gain' | 'permutation';
}

export interface TrainingReport {
  task: Task;
  /** The chosen algorithm. */
  algorithm: string;
  /** Its hyper-parameters as used. */
  params: Record<string, unknown>;
  leaderboard: LeaderboardEntry[];
  /** Test part; one entry per algorithm incl. every baseline and the chosen model. */
  metrics: Record<string, AlgorithmMetrics>;
  /** The chosen model's curve (may be empty). */
  losses: LossPoint[];
  importance: FeatureImportance[];
  /** Forecast: |residual| quantile per level per step. */
  intervals?: { levels: number[]; quantiles: number[][] };
  data: { rows: number; train: number; validation: number; test: number; missing: Record<string, number> };
}
