import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { Attempt, fenceOf, recordEnd } from './attempt.js';
import type { AttemptStore } from './attempts.js';
import type { AttemptOutcome, Consumer } from './drivers/types.js';
import type { AbortCause } from './errors.js';
import type { JobEvents } from './events.js';
import type { JobKind, JobRegistry } from './registry.js';
import type { ThreadPool } from './threads/pool.js';
import type { Job, JobContext } from './types.js';

export interface RuntimeOptions {
  registry: JobRegistry;
  attempts: AttemptStore;
  events: JobEvents;
  log: Logger;
  workerId: string;
  /** A running attempt renews its lease this often… */
  heartbeatMs: number;
  /** …to this far ahead. */
  leaseMs: number;
  /** Progress reaches the DB and the bus at most this often per job (default 250 ms). */
  progressIntervalMs?: number;
  /**
   * An aborted attempt's slot stays taken until its handler returns, however long that is (its work still
   * runs, so the kind's concurrency must count it). After this long a handler that ignores its signal is
   * logged, and a draining worker stops waiting for it (default 2000 ms).
   */
  abortGraceMs?: number;
  threads: ThreadPool | null;
  /** [0, 1) source for the backoff jitter (tests make it deterministic). */
  random?: () => number;
  /** Lease ends, retry times and the stamps of attempts' writes (default the system clock). */
  clock?: Clock;
}

/**
 * The worker runtime shared by both drivers: runs each job it is handed as one Attempt (attempt.ts), keeps count
 * of the attempts in progress, and drains them on shutdown. Drivers decide only which job runs when.
 */
export class JobRuntime implements Consumer {
  readonly workerId: string;
  readonly kinds: { kind: string; concurrency: number }[];
  /**
   * Attempts in progress; `done` resolves once the attempt's end is written and its handler has returned. One
   * entry per attempt, never per job id: a stale attempt of a job (its lease lost, still unwinding) and the
   * newer attempt running here side by side each remove only their own entry.
   */
  private readonly running = new Set<RunningAttempt>();
  private draining = false;

  constructor(private readonly o: RuntimeOptions) {
    this.workerId = o.workerId;
    this.kinds = o.registry.all().map((k) => ({ kind: k.kind, concurrency: k.concurrency }));
  }

  /** Attempts running in this process now. */
  get active(): number {
    return this.running.size;
  }

  changed(jobs: Job[]): void {
    for (const j of jobs) this.o.events.state(j);
  }

  async run(job: Job): Promise<AttemptOutcome> {
    const kind = this.o.registry.get(job.kind);
    const o = { ...this.o, clock: this.o.clock ?? systemClock };
    this.o.events.state(job);
    if (!kind) {
      const error = { code: 'unknown_kind', message: `No handler for job kind '${job.kind}' in this worker` };
      return recordEnd(o, fenceOf(job, this.workerId), { status: 'failed', error }, job);
    }
    if (this.draining) return recordEnd(o, fenceOf(job, this.workerId), { status: 'requeued' }, job);

    const attempt = new Attempt(job, kind, {
      ...o,
      progressIntervalMs: this.o.progressIntervalMs ?? 250,
      abortGraceMs: this.o.abortGraceMs ?? 2000,
      invoke: (k, j, ctx) => this.invoke(k, j, ctx),
    });
    let markDone!: () => void;
    const entry: RunningAttempt = {
      abort: (cause) => attempt.abort(cause),
      done: new Promise<void>((resolve) => (markDone = resolve)),
    };
    this.running.add(entry);
    try {
      return await attempt.run();
    } finally {
      this.running.delete(entry);
      markDone();
    }
  }

  private invoke(kind: JobKind, job: Job, ctx: JobContext): Promise<unknown> {
    if (kind.definition.thread && this.o.threads) {
      const { jobId, kind: k, workspaceId, createdBy, attempt, maxAttempts } = ctx;
      return this.o.threads.run(
        job.payload,
        { jobId, kind: k, workspaceId, createdBy, attempt, maxAttempts },
        ctx.signal,
        ctx.progress,
      );
    }
    return kind.definition.handler(job.payload, ctx);
  }

  /**
   * Graceful stop: no new attempts start; running ones get until `timeoutMs` to finish, then are aborted and
   * queued again without counting the attempt. Resolves once every attempt has ended.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    if (this.running.size === 0) return;
    const timer = delay(timeoutMs);
    await Promise.race([all(), timer]);
    for (const r of this.running.values()) r.abort('shutdown');
    // Aborted attempts write their end at once; shutdown waits for their handlers only up to the grace period
    // (one that ignores its signal must not hold the process up).
    await Promise.race([all(), delay((this.o.abortGraceMs ?? 2000) + 1000)]);
  }
}

interface RunningAttempt {
  abort(cause: AbortCause): void;
  done: Promise<void>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
