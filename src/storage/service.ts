import type { BlobStore } from '../blobs/types.js';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { JobService } from '../jobs/service.js';
import { SYSTEM_WORKSPACE_ID } from '../jobs/sweep.js';
import type { Job } from '../jobs/types.js';
import { waitUntilFinished } from '../jobs/wait.js';
import { SWEEP_AREAS, maxAgeMs, type SweepArea } from './policy.js';
import type { StorageRepo, SweepRecord } from './repo.js';
import type { SweepScheduler } from './scheduler.js';
import { CachedWalk, diskOf, walkStore, type StoreUsage } from './stats.js';
import { STORAGE_SWEEP_KIND, type StorageSweepPayload } from './sweep.js';

export interface RetentionPolicy {
  /** Per area, in ms; null = never by age (datasets, models). `tmp` is each process's scratch space. */
  areas: Record<SweepArea, number | null>;
  jobArtifactsMs: number;
  cron: string;
  timezone: 'UTC';
  nextRun: string | null;
}

export interface StorageStats extends StoreUsage {
  driver: BlobStore['driver'];
  /** The file system of the data directory (local driver); null with S3. */
  disk: { freeBytes: number; totalBytes: number } | null;
  retention: RetentionPolicy;
  lastSweep: SweepRecord | null;
}

/** How long a storage walk is reused. */
const WALK_TTL_MS = 30_000;

/**
 * Storage statistics and sweeps as the API and the CLI see them. Sweeps are `storage.sweep` jobs of the system
 * workspace, so this service (not the workspace-scoped jobs API) is how an administrator reads them.
 */
export class StorageService {
  private readonly walk: CachedWalk;

  constructor(
    private readonly o: {
      config: Pick<Config, 'retention' | 'dataDir'>;
      blobs: BlobStore;
      repo: StorageRepo;
      jobs: JobService;
      /** This process's schedule (running only where workers run); tests drive its fire times. */
      scheduler: SweepScheduler;
    },
  ) {
    this.walk = new CachedWalk(() => walkStore(o.blobs), WALK_TTL_MS);
  }

  get scheduler(): SweepScheduler {
    return this.o.scheduler;
  }

  policy(): RetentionPolicy {
    const r = this.o.config.retention;
    return {
      areas: Object.fromEntries(SWEEP_AREAS.map((a) => [a, maxAgeMs(a, r)])) as Record<SweepArea, number | null>,
      jobArtifactsMs: r.jobArtifactsMs,
      cron: r.sweepCron,
      timezone: 'UTC',
      nextRun: this.o.scheduler.nextRun()?.toISOString() ?? null,
    };
  }

  async stats(fresh = false): Promise<StorageStats> {
    const lastSweep = await this.o.repo.last();
    // A sweep that ended since the cached walk changed the store, whichever process ran it (the job worker, another node).
    const sweptAt = lastSweep?.finishedAt ?? null;
    const swept = sweptAt !== this.walkedAfterSweep;
    this.walkedAfterSweep = sweptAt;
    const [usage, disk] = await Promise.all([
      this.walk.get(fresh || swept),
      this.o.blobs.driver === 'local' ? diskOf(this.o.config.dataDir) : Promise.resolve(null),
    ]);
    return { driver: this.o.blobs.driver, ...usage, disk, retention: this.policy(), lastSweep };
  }

  /** The end of the last sweep when the cached walk was made. */
  private walkedAfterSweep: string | null = null;

  /** A finished sweep changed the store: the next statistics walk it again. */
  invalidate(): void {
    this.walk.invalidate();
  }

  startSweep(dryRun: boolean, createdBy: string | null): Promise<Job> {
    const payload: StorageSweepPayload = { v: 1, dryRun };
    return this.o.jobs.enqueue(STORAGE_SWEEP_KIND, payload, { workspaceId: SYSTEM_WORKSPACE_ID, createdBy });
  }

  /** A sweep's job; 404 for any other job id. */
  async sweepJob(id: string): Promise<Job> {
    const job = await this.o.jobs.get(SYSTEM_WORKSPACE_ID, id).catch(() => null);
    if (!job || job.kind !== STORAGE_SWEEP_KIND) throw errors.notFound('Storage sweep', id);
    return job;
  }

  /** The sweep's job once it has finished, or as it is when `timeoutMs` runs out (or `signal` aborts). */
  waitForSweep(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Job> {
    return waitUntilFinished(() => this.sweepJob(id), timeoutMs, signal);
  }
}
