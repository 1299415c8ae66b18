import { AppError } from '../errors.js';
import type { JobError } from './types.js';

/**
 * A handler's way to say how an attempt failed: a stable code for clients, and whether another attempt could
 * succeed. Anything else a handler throws counts as a retryable internal failure whose message stays in the log.
 */
export class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly details?: JobError['details'],
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}

/** Why an attempt's signal was aborted; also the code recorded for it. */
export type AbortCause = 'cancelled' | 'timeout' | 'shutdown' | 'lost';

export class JobAborted extends Error {
  constructor(readonly reason: AbortCause) {
    super(`job attempt aborted: ${reason}`);
    this.name = 'JobAborted';
  }
}

export interface ClassifiedFailure {
  error: JobError;
  retryable: boolean;
}

/**
 * Maps what a handler threw to what the job record keeps. A client error of the HTTP family (e.g. a rejected
 * upload, 4xx) is permanent and keeps its code and field errors; an unknown error keeps no message (it may hold
 * paths or internals): the log has it, under the job id.
 */
export function classifyFailure(e: unknown): ClassifiedFailure {
  if (e instanceof JobFailure) return { error: withDetails(e.code, e.message, e.details), retryable: e.retryable };
  if (e instanceof AppError) {
    return {
      error: withDetails(e.code, e.message, e.errors.length > 0 ? e.errors : undefined),
      retryable: e.status >= 500,
    };
  }
  return {
    error: {
      code: 'internal',
      message: 'The job handler failed unexpectedly; the server log has the details under this job id',
    },
    retryable: true,
  };
}

function withDetails(code: string, message: string, details: JobError['details']): JobError {
  return details && details.length > 0 ? { code, message, details } : { code, message };
}
