import { Cron } from 'croner';
import type { JobService } from '../jobs/service.js';
import { SYSTEM_WORKSPACE_ID } from '../jobs/sweep.js';
import type { Job } from '../jobs/types.js';
import type { Log } from '../logger.js';
import type { StorageRepo } from './repo.js';
import { STORAGE_SWEEP_KIND, type StorageSweepPayload } from './sweep.js';

/** The next fire time of a 5-field cron expression (UTC) after `from`; null when it never fires again. */
export function nextFireTime(cron: string, from = new Date()): Date | null {
  return new Cron(cron, { timezone: 'UTC', mode: '5-part', paused: true }).nextRun(from);
}

/**
 * Fires the storage sweep on WEIR_STORAGE_SWEEP_CRON (UTC) in every process that runs workers, and enqueues it
 * once per cluster: at each fire time every process inserts a `storage_sweeps` row for that instant, and only the
 * one whose insert wins the unique constraint enqueues the job. All processes compute the same instant, the
 * pattern's match, not the moment their timer woke.
 */
export class SweepScheduler {
  private cron: Cron | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: { cron: string; repo: StorageRepo; jobs: JobService; log: Log }) {}

  start(): void {
    if (this.cron) return;
    this.cron = new Cron(this.o.cron, { timezone: 'UTC', mode: '5-part', unref: true, protect: true }, (self) => {
      // The timer wakes at or just after the fire time; the fire time is the latest match up to now.
      const at = self.previousRuns(1, new Date(Date.now() + 1))[0];
      if (at) this.track(this.fire(at));
    });
  }

  /** Stops firing and waits for a fire in progress, so nothing is enqueued once the queue closes. */
  async stop(): Promise<void> {
    this.cron?.stop();
    this.cron = null;
    await Promise.allSettled([...this.inFlight]);
  }

  nextRun(): Date | null {
    return this.cron?.nextRun() ?? nextFireTime(this.o.cron);
  }

  /**
   * One fire time: claims it and enqueues the sweep, or answers null when another process claimed it first.
   * Never throws (a database that is away is logged; the next fire time tries again).
   */
  async fire(at: Date): Promise<Job | null> {
    const scheduledFor = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString();
    let claimed: string | null = null;
    try {
      claimed = await this.o.repo.claimSchedule(scheduledFor);
      if (claimed === null) return null;
      const payload: StorageSweepPayload = { v: 1, dryRun: false, scheduledFor };
      const job = await this.o.jobs.enqueue(STORAGE_SWEEP_KIND, payload, {
        workspaceId: SYSTEM_WORKSPACE_ID,
        priority: -10,
      });
      await this.o.repo.attachJob(claimed, job.id);
      this.o.log.info({ jobId: job.id, scheduledFor }, 'storage sweep scheduled');
      return job;
    } catch (err) {
      this.o.log.warn({ err, scheduledFor }, 'scheduling the storage sweep failed');
      if (claimed !== null) await this.o.repo.failSchedule(claimed, 'The sweep could not be enqueued').catch(() => {});
      return null;
    }
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
