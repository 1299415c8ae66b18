import type { Scratch } from '../blobs/scratch.js';
import type { WorkLimitsConfig } from '../config.js';
import type { BlobStore } from '../blobs/types.js';
import type { DatasetService } from '../datasets/service.js';
import type { MetadataStore } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import type { JobGrants } from '../identity/job-grants.js';
import type { JobService } from '../jobs/service.js';
import type { JobDefinition } from '../jobs/types.js';
import { pipelineRunJob } from './jobs.js';
import { PipelineRepo } from './repo.js';
import { PipelineExecutor } from './run.js';
import { PipelineService } from './service.js';

/** The pipelines of a process: the service the API uses and the `pipeline.run` job kind. */
export interface Pipelines {
  service: PipelineService;
  definitions: JobDefinition[];
}

/**
 * `jobs` answers the process's job service, which registers this module's job kind and so is built after it: it
 * is called only once the API is used.
 */
export function createPipelines(o: {
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  engine: Engine;
  datasets: DatasetService;
  grants: JobGrants;
  jobs: () => JobService;
  /** WEIR_MAX_OUTPUT_ROWS, WEIR_MAX_OUTPUT_BYTES, WEIR_PIPELINE_PREVIEW_TIMEOUT. */
  limits: WorkLimitsConfig;
}): Pipelines {
  const repo = new PipelineRepo(o.store.db);
  const limits = { maxRows: o.limits.maxOutputRows, maxBytes: o.limits.maxOutputBytes };
  const executor = new PipelineExecutor({
    engine: o.engine,
    blobs: o.blobs,
    scratch: o.scratch,
    datasets: o.datasets,
    limits,
  });
  const service = new PipelineService({
    repo,
    datasets: o.datasets,
    executor,
    jobs: o.jobs,
    previewTimeoutMs: o.limits.previewTimeoutMs,
  });
  return {
    service,
    definitions: [pipelineRunJob({ repo, executor, datasets: o.datasets, grants: o.grants }) as JobDefinition],
  };
}

export { PipelineService } from './service.js';
