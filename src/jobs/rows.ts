import type { Selectable } from 'kysely';
import type { JobsTable } from '../db/types.js';
import { toIso } from '../db/values.js';
import type { Job, JobError, JobStatus } from './types.js';

export type JobRow = Selectable<JobsTable>;

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** A row of `jobs` as the API, the bus and handlers see it (SQLite TEXT and PostgreSQL timestamptz alike). */
export function toJob(row: JobRow): Job {
  let error: JobError | null = null;
  if (row.error_code !== null) {
    error = { code: row.error_code, message: row.error_message ?? '' };
    const details = parse(row.error_details_json) as JobError['details'] | null;
    if (details) error.details = details;
  }
  return {
    id: row.id,
    kind: row.kind,
    workspaceId: row.workspace_id,
    createdBy: row.created_by,
    parentId: row.parent_id,
    payload: parse(row.payload_json),
    status: row.status as JobStatus,
    priority: Number(row.priority),
    progress: Number(row.progress),
    progressMessage: row.progress_message,
    progressData: parse(row.progress_data_json),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    timeoutMs: Number(row.timeout_ms),
    result: parse(row.result_json),
    error,
    cancelRequested: Number(row.cancel_requested) === 1,
    createdAt: toIso(row.created_at),
    startedAt: row.started_at === null ? null : toIso(row.started_at),
    finishedAt: row.finished_at === null ? null : toIso(row.finished_at),
    runAfter: toIso(row.run_after),
  };
}

/** The columns a failure writes. */
export function errorColumns(
  error: JobError | null,
): Pick<JobsTable, 'error_code' | 'error_message' | 'error_details_json'> {
  return {
    error_code: error?.code ?? null,
    error_message: error?.message ?? null,
    error_details_json: error?.details ? JSON.stringify(error.details) : null,
  };
}

/**
 * The progress message an attempt that ends without success leaves on its job. The last step's message
 * ("validating") would read as work still going on; this says how the attempt ended: `message` when the runtime
 * has a more precise one (a permanent failure, a retry), else one made from the error.
 */
export function endedProgress(
  ending: 'failed' | 'cancelled' | 'queued',
  error: JobError,
  message?: string,
): Pick<JobsTable, 'progress_message'> {
  const made =
    ending === 'failed'
      ? `Failed: ${error.message}`
      : ending === 'cancelled'
        ? error.message
        : `Queued again: ${error.message}`;
  return { progress_message: message ?? made };
}

export const FINISHED: JobStatus[] = ['succeeded', 'failed', 'cancelled'];
