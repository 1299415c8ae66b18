import type { Task } from './types.js';

/** One candidate tried by a training orchestration, with its validation metrics. */
export interface LeaderboardEntry {
  algorithm: string;
  params: Record<string, unknown>;
  validation: Record<string, number | null>;
  trainMs: number;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
}

/** Test-part metrics of one algorithm (the chosen model and every baseline). */
export interface AlgorithmMetrics {
  original: Record<string, number | null>;
  normalized: Record<string, number | null>;
  /** Forecast: per horizon step. */
  perStep?: { mse: number | null; mae: number | null }[];
  /** Forecast: 1 − MSE/MSE(repeat-last). */
  skill?: number | null;
  /** Classification. */
  confusion?: number[][];
}

/** What a training orchestration returns and the registry stores (plain JSON). */
export interface TrainingReport {
  task: Task;
  algorithm: string;
  params: Record<string, unknown>;
  leaderboard: LeaderboardEntry[];
  metrics: { [algorithm: string]: AlgorithmMetrics };
  losses: { iteration: number; train: number | null; validation: number | null }[];
  importance: { feature: string; value: number; kind: 'gain' | 'permutation' }[];
  /** Forecast: |residual| quantile per level per step. */
  intervals?: { levels: number[]; quantiles: number[][] };
  data: { rows: number; train: number; validation: number; test: number; missing: Record<string, number> };
}
