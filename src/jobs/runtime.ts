import type { Logger } from 'pino';
import { AttemptStore, type Completion, type Fence } from './attempts.js';
import { backoffDelay } from './backoff.js';
import type { AttemptOutcome, Consumer } from './drivers/types.js';
import { classifyFailure, JobAborted, type AbortCause } from './errors.js';
import type { JobEvents } from './events.js';
import { ProgressThrottle } from './progress.js';
import type { JobKind, JobRegistry } from './registry.js';
import type { ThreadPool } from './threads/pool.js';
import type { Job, JobContext, JobError } from './types.js';

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
}

const TIMEOUT_ERROR = (ms: number): JobError => ({
  code: 'timeout',
  message: `The attempt ran longer than its timeout of ${ms} ms`,
});
const iso = (ms = Date.now()) => new Date(ms).toISOString();
const attemptCount = (n: number) => `${n} attempt${n === 1 ? '' : 's'}`;

/**
 * The worker runtime shared by both drivers: runs one attempt at a time per call with its AbortSignal,
 * timeout, heartbeat, throttled progress and events, and writes every transition of the attempt to the
 * `jobs` table (fenced, see attempts.ts). Drivers decide only which job runs when.
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
    const fence: Fence = { id: job.id, workerId: this.workerId, attempt: job.attempts };
    this.o.events.state(job);
    if (!kind)
      return this.end(
        fence,
        {
          status: 'failed',
          error: { code: 'unknown_kind', message: `No handler for job kind '${job.kind}' in this worker` },
        },
        job,
      );
    if (this.draining) return this.end(fence, { status: 'requeued' }, job);

    const log = this.o.log.child({
      jobId: job.id,
      kind: job.kind,
      workspaceId: job.workspaceId,
      attempt: job.attempts,
    });
    const controller = new AbortController();
    let cause: AbortCause | null = null;
    let ended: Promise<AttemptOutcome> | null = null;
    let announceEnd!: (outcome: Promise<AttemptOutcome>) => void;
    const endedOnce = new Promise<AttemptOutcome>((resolve) => (announceEnd = resolve));
    const progress = new ProgressThrottle(this.o.progressIntervalMs ?? 250, async (r) => {
      const written = await this.o.attempts.progress(fence, r.percent, r.message, r.data, iso());
      if (written)
        this.o.events.progress(job.workspaceId, { id: job.id, progress: r.percent, message: r.message, data: r.data });
    });

    const finish = (completion: Completion | null): Promise<AttemptOutcome> => {
      if (ended) return ended;
      ended = (async () => {
        clearTimeout(timeout);
        clearInterval(heartbeat);
        unsubscribe();
        // The last report is never dropped: written before the attempt's end.
        await progress.close({ flush: completion !== null });
        if (completion === null) return { status: 'lost' } as const;
        return this.end(fence, completion, job);
      })();
      announceEnd(ended);
      return ended;
    };
    const failOrRetry = (error: JobError, retryable: boolean): Completion => {
      if (!retryable)
        return { status: 'failed', error, progress: `Failed: ${error.message} (a permanent failure: not retried)` };
      if (job.attempts >= job.maxAttempts)
        return { status: 'failed', error, progress: `Failed after ${attemptCount(job.attempts)}: ${error.message}` };
      const delayMs = backoffDelay(job.attempts, kind.backoffMs, this.o.random);
      return {
        status: 'retry',
        error,
        runAfter: iso(Date.now() + delayMs),
        progress: `Attempt ${job.attempts} of ${job.maxAttempts} failed: ${error.message}; retrying`,
      };
    };
    const abort = (c: AbortCause) => {
      if (cause || ended) return;
      cause = c;
      controller.abort(new JobAborted(c));
      log.info({ cause: c }, 'job attempt aborted');
      if (c === 'cancelled') void finish({ status: 'cancelled' });
      else if (c === 'timeout') void finish(failOrRetry(TIMEOUT_ERROR(job.timeoutMs), true));
      else if (c === 'shutdown') void finish({ status: 'requeued' });
      else void finish(null);
    };

    const timeout = setTimeout(() => abort('timeout'), job.timeoutMs);
    const heartbeat = setInterval(() => {
      this.o.attempts.heartbeat(fence, iso(), iso(Date.now() + this.o.leaseMs)).then(
        (h) => {
          if (!h.owned) abort('lost');
          else if (h.cancelRequested) abort('cancelled');
        },
        (err: unknown) => log.warn({ err }, 'job heartbeat failed'),
      );
    }, this.o.heartbeatMs);
    const unsubscribe = this.o.events.onCancel(job.id, () => abort('cancelled'));
    if (job.cancelRequested) abort('cancelled');

    const ctx: JobContext = {
      jobId: job.id,
      kind: job.kind,
      workspaceId: job.workspaceId,
      createdBy: job.createdBy,
      attempt: job.attempts,
      maxAttempts: job.maxAttempts,
      signal: controller.signal,
      log,
      progress: (p, m, d) => progress.report(p, m, d),
    };
    let markDone!: () => void;
    const entry: RunningAttempt = { abort, done: new Promise<void>((resolve) => (markDone = resolve)) };
    this.running.add(entry);
    // Through a promise, so that a handler that throws before returning one fails the attempt like any other.
    const settled = Promise.resolve()
      .then(() => this.invoke(kind, job, ctx))
      .then(
        (result) => {
          if (!cause) void finish({ status: 'succeeded', result });
          else log.info({ cause }, 'job handler returned after its attempt was aborted');
        },
        (e: unknown) => {
          if (cause) {
            log.info({ cause }, 'job handler returned after its attempt was aborted');
            return;
          }
          const { error, retryable } = classifyFailure(e);
          if (error.code === 'internal') log.error({ err: e }, 'job handler failed');
          void finish(failOrRetry(error, retryable));
        },
      );
    try {
      const outcome = await endedOnce;
      if (cause) {
        const graceMs = this.o.abortGraceMs ?? 2000;
        const slow = setTimeout(
          () =>
            log.warn(
              { cause, graceMs },
              'job handler still running after its attempt was aborted; its slot stays taken until it returns',
            ),
          graceMs,
        );
        slow.unref();
        await settled;
        clearTimeout(slow);
      }
      return outcome;
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

  /** Writes the end of an attempt and publishes it; `lost` when the attempt no longer owned the job. */
  private async end(fence: Fence, completion: Completion, job: Job): Promise<AttemptOutcome> {
    const written = await this.o.attempts.complete(fence, completion, iso());
    if (!written) {
      this.o.log.warn(
        { jobId: job.id, attempt: fence.attempt, wanted: completion.status },
        'job attempt ended after losing its job; nothing written',
      );
      return { status: 'lost' };
    }
    this.o.events.state(written);
    if (written.status === 'cancelled' && completion.status !== 'cancelled') {
      this.o.log.info(
        { jobId: job.id, attempt: fence.attempt, wanted: completion.status },
        'job was cancelled while its attempt ended; recorded as cancelled',
      );
      return { status: 'cancelled' };
    }
    if (completion.status === 'retry')
      return { status: 'retry', delayMs: Math.max(0, Date.parse(completion.runAfter) - Date.now()) };
    return { status: completion.status };
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
