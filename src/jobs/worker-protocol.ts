import type { BusLinkMessage } from '../bus/process-link.js';
import type { Config } from '../config.js';
import type { Job } from './types.js';

/**
 * The IPC protocol between `weir serve` (the supervisor) and the job worker process it starts
 * (src/jobs/supervisor.ts, src/jobs/supervised-worker.ts). Messages travel with Node's `advanced` serialization.
 */

export type ToWorker =
  /** The first message: the worker builds its context from exactly the server's configuration. */
  | { type: 'start'; config: Config }
  /** Jobs the API just queued: claim them now rather than at the next poll. */
  | { type: 'announce'; jobs: Job[] }
  /** The worker's metrics (Prometheus JSON), answered with `metrics` and the same id. */
  | { type: 'metrics'; requestId: number }
  /** Graceful stop: no new jobs; running ones get `timeoutMs`, then are queued again; then exit 0. */
  | { type: 'stop'; timeoutMs: number }
  | BusLinkMessage;

export type FromWorker =
  /** Jobs are being taken; `workerId` is what the worker writes into the rows it claims. */
  { type: 'ready'; workerId: string } | { type: 'metrics'; requestId: number; metrics: unknown[] } | BusLinkMessage;

/** The fields of a message every peer can rely on before looking closer (IPC carries whatever was sent). */
export function messageType(m: unknown): string | null {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string'
    ? (m as { type: string }).type
    : null;
}
