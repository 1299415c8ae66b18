import type { TSchema } from 'typebox';
import type { Log } from '../logger.js';

/**
 * The job model shared by both queue drivers. The `jobs` table of the metadata DB is the record of every job
 * in both modes (the API lists, filters and counts it); a driver only decides how a queued job reaches a
 * worker: the embedded driver claims rows of that table with leases, the BullMQ driver carries job ids through
 * Redis. Handlers never know which driver runs them.
 */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const isFinished = (s: JobStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled';

/** What a client may see of a failure: a stable code and a message, never a stack. */
export interface JobError {
  code: string;
  message: string;
  /** Where a rejected input went wrong (e.g. the line of a refused upload), as in a problem's `errors[]`. */
  details?: { pointer: string; message: string; line?: number; row?: number }[];
}

/** A job as the API, the bus and the CLI see it. */
export interface Job<P = unknown, R = unknown> {
  id: string;
  kind: string;
  workspaceId: string;
  /** User who created it (directly or through an API key); null for jobs the system schedules. */
  createdBy: string | null;
  parentId: string | null;
  payload: P;
  status: JobStatus;
  /** Higher runs first among queued jobs of a kind. */
  priority: number;
  /** 0–100. */
  progress: number;
  progressMessage: string | null;
  progressData: unknown;
  /** Attempts started so far (1 while the first attempt runs). */
  attempts: number;
  maxAttempts: number;
  timeoutMs: number;
  result: R | null;
  error: JobError | null;
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Earliest time the next attempt may start (backoff), ISO 8601. */
  runAfter: string;
}

/** What a handler gets besides its payload. */
export interface JobContext {
  jobId: string;
  kind: string;
  workspaceId: string;
  createdBy: string | null;
  /** 1-based attempt number. */
  attempt: number;
  maxAttempts: number;
  /** Aborted on cancel, timeout and shutdown; handlers pass it to whatever they await and check it between steps. */
  signal: AbortSignal;
  /** Child logger carrying jobId, kind and workspaceId. */
  log: Log;
  /** Reports progress (0–100, clamped; never goes backwards within an attempt). Cheap: rate-limited before it reaches the DB and the bus. */
  progress(percent: number, message?: string, data?: unknown): void;
}

/** One job kind: its payload schema and exactly one handler. Registered once per process, checked at start-up. */
export interface JobDefinition<P = unknown, R = unknown> {
  kind: string;
  /** Payload schema (TypeBox); payloads are validated at enqueue time. Payloads carry `v` (schema version). */
  payload: TSchema;
  handler(payload: P, ctx: JobContext): Promise<R>;
  /** Attempts before the job fails for good (default 3). */
  maxAttempts?: number;
  /** A running attempt over this is failed (`timeout`) and its signal aborted (default 10 min). */
  timeoutMs?: number;
  /** Most attempts of this kind running at once in one worker process (default 2). */
  concurrency?: number;
  /** Base of the exponential backoff between attempts, in ms (default 1000); full jitter is applied. */
  backoffMs?: number;
  /**
   * Run the handler in a `node:worker_threads` pool so CPU-heavy work never blocks the API. The handler then
   * sees only its payload and a context whose `log` and `progress` are forwarded; it must be registered in
   * src/jobs/threads/definitions.ts so the thread can find it. Aborting terminates the thread.
   */
  thread?: boolean;
  /** Blob keys that belong to a job (e.g. the upload of an ingest): deleted with the job by the retention sweep. */
  artifacts?(payload: P): string[];
}

export interface EnqueueOptions {
  workspaceId: string;
  createdBy?: string | null;
  parentId?: string | null;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Earliest start, e.g. for scheduled jobs. */
  runAfter?: Date;
}
