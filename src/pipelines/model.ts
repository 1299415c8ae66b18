import type { JobError } from '../jobs/types.js';
import type { PipelineDefinition } from './definition.js';

/** A saved pipeline as the API returns it: its current definition inline. */
export interface Pipeline {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  version: number;
  definition: PipelineDefinition;
  /** The dataset its runs append to; null until the first run creates it. */
  outputDatasetId: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A pipeline in a listing (no definition). */
export type PipelineSummary = Omit<Pipeline, 'definition'> & { stepCount: number; template: boolean };

/** One immutable version of a pipeline's definition. */
export interface PipelineVersion {
  pipelineId: string;
  version: number;
  definition: PipelineDefinition;
  createdBy: string | null;
  createdAt: string;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface PipelineRun {
  id: string;
  /** null for an ad-hoc run. */
  pipelineId: string | null;
  pipelineVersion: number | null;
  pipelineName: string;
  workspaceId: string;
  jobId: string | null;
  status: RunStatus;
  input: { datasetId: string; versionId: string | null };
  output: { datasetId: string | null; versionId: string | null };
  params: Record<string, unknown>;
  error: JobError | null;
  rowCount: number | null;
  durationMs: number | null;
  createdBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A run as the job needs it: what to run besides what the API shows. */
export interface StoredRun extends PipelineRun {
  definition: PipelineDefinition;
}

export interface LineageInput {
  datasetId: string;
  versionId: string;
  role: 'input' | 'join';
  /** The join step that read it. */
  stepIndex?: number;
}

/** How a derived version was made. */
export interface Lineage {
  versionId: string;
  datasetId: string;
  runId: string;
  pipeline: { id: string | null; version: number | null; name: string };
  inputs: LineageInput[];
  steps: Record<string, unknown>[];
  params: Record<string, unknown>;
  createdAt: string;
}

export interface LineageNode {
  datasetId: string;
  versionId: string;
  /** null when the dataset (or this version) has since been deleted. */
  datasetName: string | null;
  versionNumber: number | null;
  /** How the version was made: null for an upload (or a version whose record is gone). */
  runId: string | null;
}

/** One input of one run: `from` (an input version) was read to make `to` (the version the run stored). */
export interface LineageEdge {
  from: string;
  to: string;
  role: 'input' | 'join';
  /** The join step that read it. */
  stepIndex?: number;
  pipelineId: string | null;
  pipelineVersion: number | null;
  /** As it was named when it ran (an ad-hoc run's name, too). */
  pipelineName: string;
  runId: string;
}

export interface LineageGraph {
  datasetId: string;
  versionId: string;
  lineage: Lineage | null;
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** True when the walk stopped at its depth bound with ancestors left unvisited. */
  truncated: boolean;
}
