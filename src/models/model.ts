import type { FeatureKind } from './ml/tabular/encoding.js';
import type { TrainingReport } from './ml/report.js';
import type { Task } from './ml/types.js';

/** What a model trains: resolved and checked against its dataset when created; retraining may override parts. */
export interface ModelSpec {
  datasetId: string;
  /** A pinned version; null trains on the dataset's latest version at the time of each training. */
  versionId: string | null;
  task: Task;
  target: string;
  /** Feature columns with their kinds (tabular), or exogenous columns (forecast; unused by the placeholder). */
  features: { name: string; kind: FeatureKind }[];
  timeColumn: string | null;
  seriesColumn: string | null;
  horizon: number | null;
  lookback: number | null;
  algorithm: string;
  params: Record<string, unknown>;
  /** Fractions of the rows (in order) for train and train+validation; default 0.7 / 0.8. */
  split: { train: number; validation: number } | null;
  scaling: 'standard' | 'minmax' | 'robust' | 'none';
  budgetSeconds: number | null;
  seed: number;
}

export interface ModelTraining {
  jobId: string;
  status: string;
}

export interface Model {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  task: Task;
  target: string;
  datasetId: string;
  spec: ModelSpec;
  currentVersionId: string | null;
  currentVersion: number | null;
  versionCount: number;
  /** The latest training job and its state. */
  training: ModelTraining | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ModelVersion {
  id: string;
  modelId: string;
  number: number;
  algorithm: string;
  params: Record<string, unknown>;
  features: { name: string; kind: FeatureKind }[];
  datasetId: string;
  datasetVersionId: string;
  report: TrainingReport;
  artifactBytes: number;
  trainingMs: number;
  jobId: string;
  current: boolean;
  createdBy: string | null;
  createdAt: string;
}

/** A version with where its artifact lives (never shown to clients). */
export interface StoredModelVersion extends ModelVersion {
  artifactKey: string;
  workspaceId: string;
}

/** The models trained on a dataset version, for GET /datasets/:id/lineage. */
export interface ModelLineage {
  modelId: string;
  modelName: string;
  versionId: string;
  number: number;
  datasetVersionId: string;
}
