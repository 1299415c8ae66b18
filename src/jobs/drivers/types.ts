import type { Job } from '../types.js';

/** What became of one attempt, as the driver needs to know it (BullMQ mirrors it into Redis). */
export type AttemptOutcome =
  | { status: 'succeeded' | 'failed' | 'cancelled' | 'requeued' }
  /** Another attempt is due in `delayMs`. */
  | { status: 'retry'; delayMs: number }
  /** The attempt no longer owned the job (reclaimed, or finished by someone else): nothing was written. */
  | { status: 'lost' };

/** The worker side a driver delivers to: the shared runtime (src/jobs/runtime.ts). */
export interface Consumer {
  workerId: string;
  /** Kinds this process runs, each with its per-process concurrency. */
  kinds: { kind: string; concurrency: number }[];
  /** Runs one started attempt (the row is `running` for this worker) to its end, the row written. */
  run(job: Job): Promise<AttemptOutcome>;
  /** Rows the driver changed itself (reclaimed leases, settled stalls): published like any state change. */
  changed(jobs: Job[]): void;
}

/**
 * How queued jobs reach workers. Small on purpose: the `jobs` table is the record in both drivers and the
 * runtime makes every state transition; a driver only gets a job from "queued" to a worker's `run`, and
 * back when the runtime says so.
 *  - embedded: workers claim rows of the table (leases, heartbeats, reclaiming expired leases);
 *  - bullmq:   Redis carries job ids; BullMQ does delivery, delays, stalled-job detection.
 */
export interface QueueDriver {
  readonly name: 'embedded' | 'bullmq';
  /** Freshly queued rows (new, retried by a client): make them deliverable. */
  announce(jobs: Job[]): Promise<void>;
  /** Begins delivering jobs of the consumer's kinds, never more at once per kind than its concurrency. */
  start(consumer: Consumer): Promise<void>;
  /** Stops taking new jobs; attempts already delivered run on (the runtime ends them). */
  stopDelivering(): Promise<void>;
  /** Readiness: the queue's backing service answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
