import type { BlobStore } from '../blobs/types.js';
import type { Scratch } from '../blobs/scratch.js';
import type { EventBus } from '../bus/types.js';
import type { DatasetService } from '../datasets/service.js';
import type { MetadataStore } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import type { JobGrants } from '../identity/job-grants.js';
import type { JobSystem } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import type { BlobOwners } from '../storage/owners.js';
import { modelTrainJob } from './jobs.js';
import { ModelRepo } from './repo.js';
import { ArtifactCache } from './inference.js';
import { modelScoreJob } from './score.js';
import { ModelService } from './service.js';

/** Builds the models domain and registers its job kind, `model.train`, with the process's job system. */
export function createModels(o: {
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  engine: Engine;
  bus: EventBus;
  datasets: DatasetService;
  grants: JobGrants;
  jobs: Pick<JobSystem, 'service' | 'register' | 'runInThread'>;
  /** The storage sweep's registry of kept areas: the models area's orphans are files no version refers to. */
  owners: Pick<BlobOwners, 'claim'>;
  /** WEIR_MODEL_MAX_ROWS. */
  maxRows: number;
}): ModelService {
  const repo = new ModelRepo(o.store.db);
  const artifacts = new ArtifactCache(o.blobs);
  o.owners.claim('models', (keys) => repo.referencedArtifactKeys(keys));
  const service = new ModelService({
    repo,
    datasets: o.datasets,
    jobs: o.jobs.service,
    blobs: o.blobs,
    engine: o.engine,
    maxRows: o.maxRows,
    artifacts,
  });
  o.jobs.register(
    modelTrainJob({
      repo,
      datasets: o.datasets,
      engine: o.engine,
      blobs: o.blobs,
      scratch: o.scratch,
      bus: o.bus,
      grants: o.grants,
      jobs: o.jobs,
      maxRows: o.maxRows,
    }) as JobDefinition,
  );
  o.jobs.register(
    modelScoreJob({
      repo,
      artifacts,
      datasets: o.datasets,
      engine: o.engine,
      scratch: o.scratch,
      grants: o.grants,
      maxRows: o.maxRows,
    }) as JobDefinition,
  );
  return service;
}

export { ModelService } from './service.js';
