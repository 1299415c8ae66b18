import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore } from '../blobs/types.js';
import type { DatasetService } from '../datasets/service.js';
import type { MetadataStore } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import type { JobService } from '../jobs/service.js';
import type { JobDefinition } from '../jobs/types.js';
import { pipelineRunJob } from './jobs.js';
import { PipelineRepo } from './repo.js';
import { PipelineExecutor } from './run.js';
import { PipelineService } from './service.js';

/** How long a preview's queries may run before they are interrupted. */
export const PREVIEW_TIMEOUT_MS = 30_000;

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
  store: MetadataStore; blobs: BlobStore; scratch: Scratch; engine: Engine; datasets: DatasetService; jobs: () => JobService;
}): Pipelines {
  const repo = new PipelineRepo(o.store.db);
  const executor = new PipelineExecutor({ engine: o.engine, blobs: o.blobs, scratch: o.scratch, datasets: o.datasets });
  const service = new PipelineService({ repo, datasets: o.datasets, executor, jobs: o.jobs, previewTimeoutMs: PREVIEW_TIMEOUT_MS });
  return { service, definitions: [pipelineRunJob({ repo, executor, datasets: o.datasets }) as JobDefinition] };
}

export { PipelineService } from './service.js';
