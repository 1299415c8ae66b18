import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore } from '../blobs/types.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { VersionRetention } from '../datasets/repo.js';
import type { MetadataStore } from '../db/index.js';
import type { JobGrants } from '../identity/job-grants.js';
import type { JobSystem } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import type { Log } from '../logger.js';
import { BlobOwners } from './owners.js';
import { StorageRepo } from './repo.js';
import { sweepScratch } from './scratch.js';
import { SweepScheduler } from './scheduler.js';
import { StorageService } from './service.js';
import { storageSweepJob } from './sweep.js';
import type { UploadRetention } from '../uploads/repo.js';

/** How often every process clears its own scratch files past WEIR_RETENTION_TMP. */
export const SCRATCH_SWEEP_EVERY_MS = 60 * 60_000;

/** The storage lifecycle of a process: the service the API uses, the cluster-wide schedule. */
export interface Storage {
  service: StorageService;
  /** Where domains that own a kept area (models) say which of its objects are still referred to. */
  owners: BlobOwners;
  /**
   * The sweep schedule runs in processes with workers (`scheduler: true`); the hourly scratch clean-up in every
   * process, since scratch space is per process and per node.
   */
  start(o: { scheduler: boolean }): void;
  stop(): Promise<void>;
}

/** Builds the storage domain and registers its job kind, `storage.sweep`, with the process's job system. */
export function createStorage(o: {
  config: Pick<Config, 'retention' | 'dataDir'>;
  log: Log;
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  grants: JobGrants;
  /** The uploads and dataset versions retention decides about, read and changed through their own domains. */
  uploads: UploadRetention;
  versions: VersionRetention;
  jobs: Pick<JobSystem, 'service' | 'registry' | 'register'>;
  /** What the sweep takes for now: upload expiry and the ages it deletes by (default the system clock). */
  clock?: Clock;
}): Storage {
  const repo = new StorageRepo(o.store.db);
  const scheduler = new SweepScheduler({
    cron: o.config.retention.sweepCron,
    repo,
    jobs: o.jobs.service,
    log: o.log,
  });
  const service = new StorageService({
    config: o.config,
    blobs: o.blobs,
    repo,
    jobs: o.jobs.service,
    scheduler,
  });
  const owners = new BlobOwners();
  const definition = storageSweepJob({
    repo,
    uploads: o.uploads,
    versions: o.versions,
    jobs: o.jobs.service,
    blobs: o.blobs,
    registry: o.jobs.registry,
    owners,
    retention: o.config.retention,
    scratchRoot: o.scratch.root,
    log: o.log,
    grants: o.grants,
    now: () => (o.clock ?? systemClock).now(),
    onFinished: () => service.invalidate(),
  });
  o.jobs.register(definition as JobDefinition);
  let scratchTimer: NodeJS.Timeout | null = null;

  return {
    service,
    owners,
    start({ scheduler: schedule }) {
      if (schedule) scheduler.start();
      scratchTimer ??= setInterval(() => {
        sweepScratch(o.scratch.dir, o.config.retention.tmpMs, new Date(), false).then(
          (r) => r.objects > 0 && o.log.info({ ...r }, 'old scratch files removed'),
          (err: unknown) => o.log.warn({ err }, 'removing old scratch files failed'),
        );
      }, SCRATCH_SWEEP_EVERY_MS);
      scratchTimer.unref();
    },
    async stop() {
      if (scratchTimer) clearInterval(scratchTimer);
      scratchTimer = null;
      await scheduler.stop();
    },
  };
}

export { StorageService } from './service.js';
