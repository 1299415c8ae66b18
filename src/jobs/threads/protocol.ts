import type { JobError } from '../types.js';

/** `workerData` of a job thread; main.ts recognizes it and runs the thread loop instead of the CLI. */
export interface JobThreadData {
  weirJobThread: 1;
  /** Which definitions the thread registers (see definitions.ts). */
  testJobKinds: boolean;
  logLevel: string;
}

export const isJobThreadData = (v: unknown): v is JobThreadData =>
  typeof v === 'object' && v !== null && (v as { weirJobThread?: unknown }).weirJobThread === 1;

/** The job context fields that cross into a thread (the signal and the callbacks are rebuilt there). */
export interface ThreadJobInfo {
  jobId: string;
  kind: string;
  workspaceId: string;
  createdBy: string | null;
  attempt: number;
  maxAttempts: number;
}

export type ToThread = { type: 'run'; taskId: number; payload: unknown; info: ThreadJobInfo };

export type FromThread =
  | { type: 'progress'; taskId: number; percent: number; message?: string; data?: unknown }
  | { type: 'done'; taskId: number; result: unknown }
  | { type: 'failed'; taskId: number; error: JobError; retryable: boolean };
