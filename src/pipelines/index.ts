import type { Scratch } from '../blobs/scratch.js';
import type { WorkLimitsConfig } from '../config.js';
import type { BlobStore } from '../blobs/types.js';
import type { DatasetService } from '../datasets/service.js';
import type { MetadataStore } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import type { JobGrants } from '../identity/job-grants.js';
import type { JobSystem } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import { pipelineRunJob } from './jobs.js';
import { PipelineRepo } from './repo.js';
import { PipelineExecutor } from './run.js';
import { PipelineService } from './service.js';

/** Builds the pipelines domain and registers its job kind, `pipeline.run`, with the process's job system. */
export function createPipelines(o: {
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  engine: Engine;
  datasets: DatasetService;
  grants: JobGrants;
  jobs: Pick<JobSystem, 'service' | 'register'>;
  /** WEIR_MAX_OUTPUT_ROWS, WEIR_MAX_OUTPUT_BYTES, WEIR_PIPELINE_PREVIEW_TIMEOUT. */
  limits: WorkLimitsConfig;
}): PipelineService {
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
    jobs: o.jobs.service,
    previewTimeoutMs: o.limits.previewTimeoutMs,
  });
  o.jobs.register(pipelineRunJob({ repo, executor, datasets: o.datasets, grants: o.grants }) as JobDefinition);
  return service;
}

export { PipelineService } from './service.js';
