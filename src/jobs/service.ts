import { systemClock, type Clock } from '../clock.js';
import type { Db, Dialect } from '../db/index.js';
import { AppError, errors } from '../errors.js';
import { newId } from '../ids.js';
import type { Log } from '../logger.js';
import type { QueueDriver } from './drivers/types.js';
import type { JobEvents } from './events.js';
import type { JobRegistry } from './registry.js';
import { JobRepo, type JobQuery, type NewJobRow } from './repo.js';
import { instanceJobCounts, jobStats, type InstanceJobCounts, type JobStats } from './stats.js';
import { waitUntilFinished } from './wait.js';
import type { EnqueueOptions, Job, JobError } from './types.js';

export interface EnqueueRequest {
  kind: string;
  payload: unknown;
  options: EnqueueOptions;
}

const iso = (d: Date) => d.toISOString();

/**
 * Jobs as domain code and the API use them: enqueue (validated against the kind's schema), read, list,
 * cancel, retry, statistics. Every read and change of a client is scoped to its workspace: a job of another
 * workspace does not exist for it.
 */
export class JobService {
  private readonly repo: JobRepo;
  private readonly clock: Clock;

  constructor(
    private readonly o: {
      db: Db;
      dialect: Dialect;
      registry: JobRegistry;
      events: JobEvents;
      driver: QueueDriver;
      log: Log;
      /** Stamps, run times and cancel and retry times (default the system clock). */
      clock?: Clock;
    },
  ) {
    this.repo = new JobRepo(o.db);
    this.clock = o.clock ?? systemClock;
  }

  get driverName(): QueueDriver['name'] {
    return this.o.driver.name;
  }

  async enqueue<P>(kind: string, payload: P, options: EnqueueOptions): Promise<Job> {
    const [job] = await this.enqueueMany([{ kind, payload, options }]);
    return job!;
  }

  /** Validates every request first (all or nothing), inserts the rows in one go, then hands them to the queue. */
  async enqueueMany(requests: EnqueueRequest[]): Promise<Job[]> {
    const now = this.clock.now();
    const rows: NewJobRow[] = requests.map((r, i) => this.row(r, now, requests.length > 1 ? `/${i}` : ''));
    const jobs = await this.repo.insert(rows);
    for (const j of jobs) this.o.events.state(j);
    await this.announce(jobs);
    return jobs;
  }

  private row({ kind, payload, options: o }: EnqueueRequest, now: Date, at: string): NewJobRow {
    const k = this.o.registry.get(kind);
    if (!k)
      throw errors.badRequest(`Unknown job kind '${kind}'`, [
        { pointer: `${at}/kind`, message: `is not a registered job kind` },
      ]);
    const problems = k.validate(payload);
    if (problems.length > 0) {
      throw errors.validation(
        `Invalid payload for job kind '${kind}': ${problems.map((p) => `${p.pointer} ${p.message}`).join('; ')}`,
        problems.map((p) => ({ ...p, pointer: `${at}${p.pointer}` })),
      );
    }
    const ts = iso(now);
    return {
      id: newId('job', now.getTime()),
      kind,
      workspace_id: o.workspaceId,
      created_by: o.createdBy ?? null,
      parent_id: o.parentId ?? null,
      payload_json: JSON.stringify(payload),
      status: 'queued',
      priority: Math.trunc(o.priority ?? 0),
      progress: 0,
      attempts: 0,
      max_attempts: o.maxAttempts ?? k.maxAttempts,
      timeout_ms: o.timeoutMs ?? k.timeoutMs,
      cancel_requested: 0,
      run_after: o.runAfter ? iso(o.runAfter) : ts,
      created_at: ts,
      updated_at: ts,
    };
  }

  /** The rows are committed: a queue that cannot be told now (Redis away) is told again by its resync. */
  private async announce(jobs: Job[]): Promise<void> {
    try {
      await this.o.driver.announce(jobs);
    } catch (err) {
      this.o.log.error(
        { err, jobs: jobs.map((j) => j.id) },
        'queued jobs not yet handed to the queue; they are resent later',
      );
    }
  }

  async get(workspaceId: string, id: string): Promise<Job> {
    const job = await this.repo.getInWorkspace(workspaceId, id);
    if (!job) throw errors.notFound('Job', id);
    return job;
  }

  /** The job, or null when it does not exist in that workspace (a watcher's poll: no error to build). */
  find(workspaceId: string, id: string): Promise<Job | null> {
    return this.repo.getInWorkspace(workspaceId, id);
  }

  /** The workspace a job belongs to, by its id alone (the caller then checks access to that workspace). */
  workspaceOf(id: string): Promise<string | null> {
    return this.repo.workspaceOf(id);
  }

  list(query: JobQuery): Promise<{ items: Job[]; total: number }> {
    return this.repo.list(query);
  }

  /**
   * A queued job ends `cancelled` at once; a running one is flagged and its worker told, which aborts the
   * attempt's signal and records `cancelled`. A finished job cannot be cancelled (409).
   */
  async cancel(workspaceId: string, id: string): Promise<Job> {
    for (let round = 0; round < 3; round++) {
      const job = await this.get(workspaceId, id);
      const now = iso(this.clock.now());
      if (job.status === 'queued') {
        const cancelled = await this.repo.cancelQueued(id, now);
        if (cancelled) {
          this.o.events.state(cancelled);
          return cancelled;
        }
      } else if (job.status === 'running') {
        const flagged = await this.repo.requestCancel(id, now);
        if (flagged) {
          this.o.events.state(flagged);
          this.o.events.cancel(flagged);
          return flagged;
        }
      } else {
        throw new AppError('job_not_cancellable', `Job '${id}' has already finished (${job.status})`, [], {
          jobStatus: job.status,
        });
      }
      // It changed state between the read and the write: look again.
    }
    throw errors.conflict(`Job '${id}' is changing state; try again`);
  }

  /**
   * A failed or cancelled job runs again from its first attempt; any other is 409. The answer carries how the
   * job ended last time (`previousError`): retrying a job that was quarantined because it kept killing its
   * worker (`worker_lost`) is a deliberate act, and the caller is told what it is retrying.
   */
  async retry(workspaceId: string, id: string): Promise<Job & { previousError: JobError | null }> {
    const job = await this.get(workspaceId, id);
    const retried =
      job.status === 'failed' || job.status === 'cancelled' ? await this.repo.retry(id, iso(this.clock.now())) : null;
    if (!retried)
      throw new AppError(
        'job_not_retryable',
        `Only failed or cancelled jobs can be retried; job '${id}' is ${job.status}`,
        [],
        { jobStatus: job.status },
      );
    this.o.log.info({ jobId: id, kind: job.kind, previousError: job.error }, 'job retried by a client');
    this.o.events.state(retried);
    await this.announce([retried]);
    return { ...retried, previousError: job.error };
  }

  /**
   * The job once it has finished, or as it is when `timeoutMs` runs out or `signal` aborts: read again at each of
   * its state events (from whichever process runs it), and at least every second.
   */
  waitUntilFinished(workspaceId: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<Job> {
    return waitUntilFinished(
      () => this.get(workspaceId, id),
      timeoutMs,
      signal,
      (notify) => this.o.events.onState(id, notify),
    );
  }

  stats(workspaceId: string, days: number): Promise<JobStats> {
    return jobStats(this.o.db, this.o.dialect, workspaceId, days);
  }

  /** Jobs of these kinds in any workspace and status, paged by id (whose artifacts the storage sweep keeps). */
  ofKinds(kinds: string[], afterId: string, limit: number): Promise<{ id: string; kind: string; payload: unknown }[]> {
    return this.repo.ofKinds(kinds, afterId, limit);
  }

  /** Jobs of these kinds in any workspace that finished in [since, until), paged by id. */
  finishedBetween(
    kinds: string[],
    since: string | null,
    until: string,
    afterId: string,
    limit: number,
  ): Promise<{ id: string; kind: string; payload: unknown }[]> {
    return this.repo.finishedBetween(kinds, since, until, afterId, limit);
  }

  /** Jobs of every workspace by kind and status, and those finished per UTC day since `since`. */
  instanceCounts(since: string): Promise<InstanceJobCounts> {
    return instanceJobCounts(this.o.db, this.o.dialect, since);
  }

  /** Queued or running jobs of a kind, across workspaces. */
  pendingCount(kind: string): Promise<number> {
    return this.repo.pendingCount(kind);
  }
}
