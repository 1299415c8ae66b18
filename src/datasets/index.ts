import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore } from '../blobs/types.js';
import type { EventBus } from '../bus/types.js';
import type { Config } from '../config.js';
import type { MetadataStore } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import type { JobGrants } from '../identity/job-grants.js';
import type { JobSystem } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import type { Log } from '../logger.js';
import type { Metrics } from '../system/metrics.js';
import { DatasetEvents } from './events.js';
import { IngestSubmitter, ingestJob } from './jobs.js';
import { DatasetRepo } from './repo.js';
import { DatasetService } from './service.js';

/** The datasets of a process: the service everyone reads and writes them through, and the queue of ingests. */
export interface Datasets {
  service: DatasetService;
  /** Accepted uploads become ingest jobs (POST /datasets without ?wait=true). */
  ingests: IngestSubmitter;
}

/** Builds the datasets domain and registers its job kind, `ingest`, with the process's job system. */
export function createDatasets(o: {
  config: Pick<Config, 'xlsx' | 'ingest' | 'previewMaxRows'>;
  log: Log;
  store: MetadataStore;
  blobs: BlobStore;
  engine: Engine;
  scratch: Scratch;
  bus: EventBus;
  metrics: Metrics;
  grants: JobGrants;
  jobs: Pick<JobSystem, 'service' | 'register'>;
}): Datasets {
  const service = new DatasetService(
    new DatasetRepo(o.store.db, o.store.dialect),
    o.blobs,
    o.engine,
    o.scratch,
    o.config,
    new DatasetEvents(o.bus, o.log),
  );
  o.jobs.register(
    ingestJob({ datasets: service, blobs: o.blobs, metrics: o.metrics, grants: o.grants }) as JobDefinition,
  );
  return { service, ingests: new IngestSubmitter(service, o.blobs, o.scratch, o.jobs.service) };
}

export { DatasetService } from './service.js';
