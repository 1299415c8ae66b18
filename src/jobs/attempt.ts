import type { Logger } from 'pino';
import { isoAfter } from '../clock.js';
import type { Completion, Fence } from './attempts.js';
import { backoffDelay } from './backoff.js';
import type { AttemptOutcome } from './drivers/types.js';
import { classifyFailure, JobAborted, type AbortCause } from './errors.js';
import { ProgressThrottle } from './progress.js';
import type { JobKind } from './registry.js';
import type { RuntimeOptions } from './runtime.js';
import type { Job, JobContext, JobError } from './types.js';

/**
 * What one attempt needs from its runtime: the runtime's own options (src/jobs/runtime.ts), with its defaults
 * applied, and the way to run a handler.
 */
export type AttemptOptions = Pick<
  RuntimeOptions,
  'attempts' | 'events' | 'log' | 'workerId' | 'heartbeatMs' | 'leaseMs' | 'random'
> &
  Required<Pick<RuntimeOptions, 'progressIntervalMs' | 'abortGraceMs' | 'clock'>> & {
    /** Runs the kind's handler (in this thread or the pool). */
    invoke(kind: JobKind, job: Job, ctx: JobContext): Promise<unknown>;
  };

/** The parts of AttemptOptions that writing an attempt's end needs. */
type EndOptions = Pick<AttemptOptions, 'attempts' | 'events' | 'log' | 'clock'>;

const TIMEOUT_ERROR = (ms: number): JobError => ({
  code: 'timeout',
  message: `The attempt ran longer than its timeout of ${ms} ms`,
});
const attemptCount = (n: number) => `${n} attempt${n === 1 ? '' : 's'}`;

/** The fence of the attempt a worker holds on `job` (its row's attempt count is this attempt's number). */
export function fenceOf(job: Job, workerId: string): Fence {
  return { id: job.id, workerId, attempt: job.attempts };
}

/** Writes the end of an attempt and publishes it; `lost` when the attempt no longer owned the job. */
export async function recordEnd(
  o: EndOptions,
  fence: Fence,
  completion: Completion,
  job: Job,
): Promise<AttemptOutcome> {
  const written = await o.attempts.complete(fence, completion, isoAfter(o.clock));
  if (!written) {
    o.log.warn(
      { jobId: job.id, attempt: fence.attempt, wanted: completion.status },
      'job attempt ended after losing its job; nothing written',
    );
    return { status: 'lost' };
  }
  o.events.state(written);
  if (written.status === 'cancelled' && completion.status !== 'cancelled') {
    o.log.info(
      { jobId: job.id, attempt: fence.attempt, wanted: completion.status },
      'job was cancelled while its attempt ended; recorded as cancelled',
    );
    return { status: 'cancelled' };
  }
  if (completion.status === 'retry')
    return { status: 'retry', delayMs: Math.max(0, Date.parse(completion.runAfter) - o.clock.nowMs()) };
  return { status: completion.status };
}

/**
 * One attempt of one job in this worker: its AbortSignal, timeout, lease renewal (the heartbeat, which also
 * notices cancellation and a lost lease), throttled progress, and the single write of its end. The end is written
 * once, by whichever comes first: the handler returning or throwing, or an abort (cancel, timeout, shutdown,
 * lost lease); a handler still running after an abort keeps its slot until it returns.
 */
export class Attempt {
  readonly fence: Fence;
  private readonly log: Logger;
  private readonly controller = new AbortController();
  private readonly progress: ProgressThrottle;
  private cause: AbortCause | null = null;
  private ended: Promise<AttemptOutcome> | null = null;
  private readonly endedOnce: Promise<AttemptOutcome>;
  private announceEnd!: (outcome: Promise<AttemptOutcome>) => void;
  private timeout: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: () => void = () => {};

  constructor(
    private readonly job: Job,
    private readonly kind: JobKind,
    private readonly o: AttemptOptions,
  ) {
    this.fence = fenceOf(job, o.workerId);
    this.log = o.log.child({ jobId: job.id, kind: job.kind, workspaceId: job.workspaceId, attempt: job.attempts });
    this.endedOnce = new Promise<AttemptOutcome>((resolve) => (this.announceEnd = resolve));
    this.progress = new ProgressThrottle(o.progressIntervalMs, (r) => this.writeProgress(r.percent, r.message, r.data));
  }

  /**
   * Runs the attempt to its end: resolves with the outcome once its end is written and, after an abort, once its
   * handler has returned as well.
   */
  async run(): Promise<AttemptOutcome> {
    this.watch();
    const settled = this.invokeHandler();
    const outcome = await this.endedOnce;
    if (this.cause) await this.awaitAbortedHandler(settled);
    return outcome;
  }

  /** Stops the attempt for `cause` and writes its end at once; the handler sees its signal aborted. */
  abort(cause: AbortCause): void {
    if (this.cause || this.ended) return;
    this.cause = cause;
    this.controller.abort(new JobAborted(cause));
    this.log.info({ cause }, 'job attempt aborted');
    if (cause === 'cancelled') void this.finish({ status: 'cancelled' });
    else if (cause === 'timeout') void this.finish(this.failOrRetry(TIMEOUT_ERROR(this.job.timeoutMs), true));
    else if (cause === 'shutdown') void this.finish({ status: 'requeued' });
    else void this.finish(null);
  }

  /** The timeout, the heartbeat and cancel requests, each of which may abort the attempt. */
  private watch(): void {
    this.timeout = setTimeout(() => this.abort('timeout'), this.job.timeoutMs);
    this.heartbeat = setInterval(() => this.renewLease(), this.o.heartbeatMs);
    this.unsubscribe = this.o.events.onCancel(this.job.id, () => this.abort('cancelled'));
    if (this.job.cancelRequested) this.abort('cancelled');
  }

  private renewLease(): void {
    this.o.attempts.heartbeat(this.fence, isoAfter(this.o.clock), isoAfter(this.o.clock, this.o.leaseMs)).then(
      (h) => {
        if (!h.owned) this.abort('lost');
        else if (h.cancelRequested) this.abort('cancelled');
      },
      (err: unknown) => this.log.warn({ err }, 'job heartbeat failed'),
    );
  }

  private async writeProgress(percent: number, message: string | null, data: unknown): Promise<void> {
    const written = await this.o.attempts.progress(this.fence, percent, message, data, isoAfter(this.o.clock));
    if (written) this.o.events.progress(this.job.workspaceId, { id: this.job.id, progress: percent, message, data });
  }

  /** Starts the handler; its result or failure ends the attempt unless an abort ended it first. */
  private invokeHandler(): Promise<void> {
    const job = this.job;
    const ctx: JobContext = {
      jobId: job.id,
      kind: job.kind,
      workspaceId: job.workspaceId,
      createdBy: job.createdBy,
      attempt: job.attempts,
      maxAttempts: job.maxAttempts,
      signal: this.controller.signal,
      log: this.log,
      progress: (p, m, d) => this.progress.report(p, m, d),
    };
    // Through a promise, so that a handler that throws before returning one fails the attempt like any other.
    return Promise.resolve()
      .then(() => this.o.invoke(this.kind, job, ctx))
      .then(
        (result) => {
          if (!this.cause) void this.finish({ status: 'succeeded', result });
          else this.log.info({ cause: this.cause }, 'job handler returned after its attempt was aborted');
        },
        (e: unknown) => {
          if (this.cause) {
            this.log.info({ cause: this.cause }, 'job handler returned after its attempt was aborted');
            return;
          }
          const { error, retryable } = classifyFailure(e);
          if (error.code === 'internal') this.log.error({ err: e }, 'job handler failed');
          void this.finish(this.failOrRetry(error, retryable));
        },
      );
  }

  /** An aborted handler keeps the slot until it returns; one that ignores its signal past the grace is logged. */
  private async awaitAbortedHandler(settled: Promise<void>): Promise<void> {
    const graceMs = this.o.abortGraceMs;
    const slow = setTimeout(
      () =>
        this.log.warn(
          { cause: this.cause, graceMs },
          'job handler still running after its attempt was aborted; its slot stays taken until it returns',
        ),
      graceMs,
    );
    slow.unref();
    await settled;
    clearTimeout(slow);
  }

  /** Ends the attempt once: stops its watchers, flushes progress, writes `completion` (null: the lease was lost). */
  private finish(completion: Completion | null): Promise<AttemptOutcome> {
    if (this.ended) return this.ended;
    this.ended = (async () => {
      clearTimeout(this.timeout);
      clearInterval(this.heartbeat);
      this.unsubscribe();
      // The last report is never dropped: written before the attempt's end.
      await this.progress.close({ flush: completion !== null });
      if (completion === null) return { status: 'lost' } as const;
      return recordEnd(this.o, this.fence, completion, this.job);
    })();
    this.announceEnd(this.ended);
    return this.ended;
  }

  private failOrRetry(error: JobError, retryable: boolean): Completion {
    const job = this.job;
    if (!retryable)
      return { status: 'failed', error, progress: `Failed: ${error.message} (a permanent failure: not retried)` };
    if (job.attempts >= job.maxAttempts)
      return { status: 'failed', error, progress: `Failed after ${attemptCount(job.attempts)}: ${error.message}` };
    const delayMs = backoffDelay(job.attempts, this.kind.backoffMs, this.o.random);
    return {
      status: 'retry',
      error,
      runAfter: isoAfter(this.o.clock, delayMs),
      progress: `Attempt ${job.attempts} of ${job.maxAttempts} failed: ${error.message}; retrying`,
    };
  }
}
