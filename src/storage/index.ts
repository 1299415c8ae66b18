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
import { StorageRepo } from './repo.js';
import { sweepScratch } from './scratch.js';
import { SweepScheduler } from './scheduler.js';
import { StorageService } from './service.js';
import { storageSweepJob } from './sweep.js';
import type { UploadRetention } from '../uploads/repo.js';

/** How often every process clears its own scratch files past WEIR_RETENTION_TMP. */
export const SCRATCH_SWEEP_EVERY_MS = 60 * 60_000;

/** The storage lifecycle of a process: its job kind, the service the API uses, the cluster-wide schedule. */
export interface Storage {
  service: StorageService;
  /** `storage.sweep`, registered with the job system. */
  definitions: JobDefinition[];
  /**
   * The sweep schedule runs in processes with workers (`scheduler: true`); the hourly scratch clean-up in every
   * process, since scratch space is per process and per node.
   */
  start(o: { scheduler: boolean }): void;
  stop(): Promise<void>;
}

/**
 * `queue` answers the process's job system, which registers this module's job kind and so is built after it: it is
 * called only once jobs run or the API is used.
 */
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
  queue: () => JobSystem;
  /** What the sweep takes for now: upload expiry and the ages it deletes by (default the system clock). */
  clock?: Clock;
}): Storage {
  const repo = new StorageRepo(o.store.db);
  const system = o.queue;
  const scheduler = new SweepScheduler({
    cron: o.config.retention.sweepCron,
    repo,
    jobs: () => system().service,
    log: o.log,
  });
  const service = new StorageService({
    config: o.config,
    blobs: o.blobs,
    repo,
    jobs: () => system().service,
    scheduler,
  });
  const definition = storageSweepJob({
    repo,
    uploads: o.uploads,
    versions: o.versions,
    jobs: () => system().service,
    blobs: o.blobs,
    registry: () => system().registry,
    retention: o.config.retention,
    scratchRoot: o.scratch.root,
    log: o.log,
    grants: o.grants,
    now: () => (o.clock ?? systemClock).now(),
    onFinished: () => service.invalidate(),
  });
  let scratchTimer: NodeJS.Timeout | null = null;

  return {
    service,
    definitions: [definition as JobDefinition],
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
