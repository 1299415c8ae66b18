import { isoAfter, systemClock, type Clock } from '../../clock.js';
import type { Log } from '../../logger.js';
import type { AttemptStore } from '../attempts.js';
import type { Job } from '../types.js';
import type { Consumer, QueueDriver } from './types.js';

export interface EmbeddedOptions {
  leaseMs: number;
  /** How often an idle loop looks for jobs other processes enqueued. */
  pollMs: number;
  log: Log;
  /**
   * The time claims, leases and reclaims write and compare (default the system clock). When the loop next wakes is
   * real time.
   */
  clock?: Clock;
}

/**
 * The embedded queue: the `jobs` rows are the queue. A worker claims runnable rows (a lease: worker id and
 * lease end; on PostgreSQL with SKIP LOCKED so several worker processes share the table), the runtime
 * renews the lease by heartbeat, and rows whose lease ran out (their worker died) are reclaimed.
 */
export class EmbeddedDriver implements QueueDriver {
  readonly name = 'embedded' as const;
  private consumer: Consumer | null = null;
  private readonly inFlight = new Map<string, number>();
  /** Kinds that may have runnable rows; a kind leaves when a claim comes back short, and returns on news. */
  private readonly hungry = new Set<string>();
  private wakeUp: (() => void) | null = null;
  /** News that arrived while the loop was busy claiming: the next idle() returns at once. */
  private pendingWake = false;
  private stopped = false;
  /**
   * When the loop next tries every kind, whatever news it had: rows other processes queued, and delayed rows
   * (backoff, runAfter) this process has no timer for. A deadline rather than a timer restarted on each idle,
   * so that frequent wake-ups (a busy kind) cannot postpone it forever.
   */
  private nextPollAt = 0;
  private loopDone: Promise<void> = Promise.resolve();
  private reclaimTimer: NodeJS.Timeout | null = null;
  private readonly clock: Clock;

  constructor(
    private readonly attempts: AttemptStore,
    private readonly o: EmbeddedOptions,
  ) {
    this.clock = o.clock ?? systemClock;
  }

  announce(jobs: Job[]): Promise<void> {
    const now = Date.now();
    for (const j of jobs) {
      const due = Date.parse(j.runAfter);
      if (due <= now) this.hungry.add(j.kind);
      else this.wakeAt(due, j.kind);
    }
    this.wake();
    return Promise.resolve();
  }

  /** Delayed jobs this process knows of (scheduled, retrying): one timer for the earliest. Others are found by polling. */
  private readonly due = new Map<string, number>();
  private dueTimer: NodeJS.Timeout | null = null;

  /**
   * The timer waits at most this long and then re-arms for the rest: Node fires a timeout above 2^31-1 ms (24.8
   * days) after 1 ms, which would turn a job scheduled a month ahead into a timer firing every millisecond.
   */
  private static readonly MAX_WAIT_MS = 3_600_000;

  private wakeAt(at: number, kind: string): void {
    this.due.set(kind, Math.min(this.due.get(kind) ?? Infinity, at));
    const next = Math.min(...this.due.values());
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = setTimeout(
      () => {
        this.dueTimer = null;
        const now = Date.now();
        for (const [k, t] of this.due) {
          if (t > now) continue;
          this.due.delete(k);
          this.hungry.add(k);
        }
        if (this.due.size > 0) this.wakeAt(Math.min(...this.due.values()), [...this.due.keys()][0]!);
        this.wake();
      },
      Math.min(Math.max(0, next - Date.now()), EmbeddedDriver.MAX_WAIT_MS),
    );
    this.dueTimer.unref();
  }

  start(consumer: Consumer): Promise<void> {
    this.consumer = consumer;
    this.stopped = false;
    this.nextPollAt = 0;
    this.loopDone = this.loop(consumer);
    const reclaimEvery = Math.max(100, Math.floor(this.o.leaseMs / 2));
    this.reclaimTimer = setInterval(() => void this.reclaim(), reclaimEvery);
    this.reclaimTimer.unref();
    void this.reclaim();
    return Promise.resolve();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    if (w) w();
    else this.pendingWake = true;
  }

  private async reclaim(): Promise<void> {
    try {
      const jobs = await this.attempts.reclaimExpired(isoAfter(this.clock));
      if (jobs.length === 0 || !this.consumer) return;
      this.o.log.warn(
        { jobs: jobs.map((j) => ({ id: j.id, status: j.status, attempts: j.attempts })) },
        'reclaimed jobs whose worker stopped renewing its lease',
      );
      this.consumer.changed(jobs);
      void this.announce(jobs.filter((j) => j.status === 'queued'));
    } catch (err) {
      this.o.log.warn({ err }, 'reclaiming expired job leases failed');
    }
  }

  private async loop(consumer: Consumer): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      if (now >= this.nextPollAt) {
        for (const k of consumer.kinds) this.hungry.add(k.kind);
        this.nextPollAt = now + this.o.pollMs;
      }
      let claimed = 0;
      try {
        for (const { kind, concurrency } of consumer.kinds) {
          const free = concurrency - (this.inFlight.get(kind) ?? 0);
          if (free <= 0 || !this.hungry.has(kind) || this.stopped) continue;
          const jobs = await this.attempts.claim(
            kind,
            consumer.workerId,
            free,
            isoAfter(this.clock),
            isoAfter(this.clock, this.o.leaseMs),
          );
          if (jobs.length < free) this.hungry.delete(kind);
          claimed += jobs.length;
          for (const job of jobs) this.dispatch(consumer, job);
        }
      } catch (err) {
        this.o.log.error({ err }, 'claiming jobs failed');
      }
      if (claimed === 0 && !this.stopped) await this.idle();
    }
  }

  private dispatch(consumer: Consumer, job: Job): void {
    this.inFlight.set(job.kind, (this.inFlight.get(job.kind) ?? 0) + 1);
    consumer
      .run(job)
      .then(
        (outcome) => {
          if (outcome.status === 'retry') this.wakeAt(Date.now() + outcome.delayMs, job.kind);
        },
        (err: unknown) =>
          this.o.log.error(
            { err, jobId: job.id },
            'job attempt failed to record its end; its lease will expire and it will run again',
          ),
      )
      .finally(() => {
        this.inFlight.set(job.kind, (this.inFlight.get(job.kind) ?? 1) - 1);
        this.hungry.add(job.kind);
        // Deferred a turn, so that slots freed together are refilled by one claim.
        setImmediate(() => this.wake());
      });
  }

  /** Sleeps until news (a local enqueue, a slot freed, a delayed job due) or the next poll is due. */
  private async idle(): Promise<void> {
    if (this.pendingWake || this.stopped) {
      this.pendingWake = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          this.wakeUp = null;
          resolve();
        },
        Math.max(0, this.nextPollAt - Date.now()),
      );
      timer.unref();
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async stopDelivering(): Promise<void> {
    this.stopped = true;
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.reclaimTimer = null;
    this.dueTimer = null;
    this.wake();
    await this.loopDone;
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.stopDelivering();
  }
}
