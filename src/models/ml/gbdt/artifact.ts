/** The stored form of a GBDT model: plain JSON (no typed arrays, no NaN, no Infinity). */
import type { TabularTask } from '../types.js';
import type { FeatureBins } from './binning.js';
import type { ObjectiveName } from './objective.js';
import type { GbdtParams } from './params.js';
import type { GbdtTree } from './tree.js';

export interface GbdtLossPoint {
  /** Round, 1-based. */
  iteration: number;
  train: number;
  validation: number | null;
}

export interface GbdtArtifact {
  format: 'weir-gbdt/1';
  task: TabularTask;
  objective: ObjectiveName;
  /** Classes of a classification (0 for regression). */
  classes: number;
  /** Scores per row: 1, or the number of classes for softmax. */
  outputs: number;
  featureNames: string[];
  /** Bin edges per feature (what turns raw values into the bins the trees were trained on). */
  features: FeatureBins[];
  baseScore: number[];
  /** Round-major: the tree of round r for output k is trees[r * outputs + k]. */
  trees: GbdtTree[];
  /** Rounds kept (the best round under early stopping). */
  rounds: number;
  /** Rounds trained before stopping. */
  roundsTrained: number;
  stoppedBy: 'rounds' | 'early-stopping' | 'deadline';
  params: GbdtParams;
  /** Loss per trained round (mean squared error or log loss), on the train and validation parts. */
  losses: GbdtLossPoint[];
}
