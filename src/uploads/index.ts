import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore } from '../blobs/types.js';
import type { EventBus } from '../bus/types.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DatasetService } from '../datasets/service.js';
import type { MetadataStore } from '../db/index.js';
import type { JobGrants } from '../identity/job-grants.js';
import type { JobSystem } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import type { Log } from '../logger.js';
import type { Metrics } from '../system/metrics.js';
import { UploadEvents } from './events.js';
import { uploadIngestJob } from './jobs.js';
import { UploadRepo, type UploadRetention } from './repo.js';
import { UploadService } from './service.js';
import { FileStaging, PartStaging } from './staging.js';

/** The resumable uploads of a process: the service behind /api/v1/uploads, and what storage retention reads. */
export interface Uploads {
  service: UploadService;
  /** Expired and live uploads, for the storage sweep. */
  retention: UploadRetention;
}

/** Builds the uploads domain and registers its job kind, `upload.ingest`, with the process's job system. */
export function createUploads(o: {
  config: Pick<Config, 'blobs' | 'maxUploadBytes' | 'uploads'>;
  log: Log;
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  bus: EventBus;
  datasets: DatasetService;
  metrics: Metrics;
  grants: JobGrants;
  jobs: Pick<JobSystem, 'service' | 'register'>;
  /** Expiry is decided by it (default the system clock). */
  clock?: Clock;
}): Uploads {
  // Local blobs: an upload is written in place, one file; any other store: one object per PATCH (src/uploads/staging.ts).
  const staging =
    o.config.blobs.driver === 'local'
      ? new FileStaging(o.config.blobs.root, o.scratch)
      : new PartStaging(o.blobs, o.scratch);
  const repo = new UploadRepo(o.store.db);
  const events = new UploadEvents(o.bus, o.log);
  const service = new UploadService({
    repo,
    staging,
    datasets: o.datasets,
    jobs: o.jobs.service,
    events,
    limits: {
      maxBytes: o.config.maxUploadBytes,
      expiryMs: o.config.uploads.expiryMs,
      quotaBytes: o.config.uploads.workspaceQuotaBytes,
    },
    clock: o.clock,
  });
  o.jobs.register(
    uploadIngestJob({
      repo,
      staging,
      datasets: o.datasets,
      events,
      metrics: o.metrics,
      grants: o.grants,
      publishState: (workspaceId, id) => service.publishState(workspaceId, id),
    }) as JobDefinition,
  );
  return { service, retention: repo };
}

export { UploadService } from './service.js';
