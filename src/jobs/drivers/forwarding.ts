import type { Job } from '../types.js';
import type { QueueDriver } from './types.js';

/**
 * The embedded queue as seen from `weir serve` when a supervised worker process runs its jobs: the rows are the
 * queue and the worker claims them; this side only hands it freshly queued jobs so it claims them at once rather
 * than at its next poll (a worker that is down finds them by polling when it is back).
 */
export class ForwardingDriver implements QueueDriver {
  readonly name = 'embedded' as const;

  constructor(private readonly forward: (jobs: Job[]) => void) {}

  announce(jobs: Job[]): Promise<void> {
    this.forward(jobs);
    return Promise.resolve();
  }

  start(): Promise<void> {
    return Promise.reject(new Error('this process runs no job workers: its supervised worker process does'));
  }

  stopDelivering(): Promise<void> {
    return Promise.resolve();
  }

  /** The queue is the metadata database, which readiness checks on its own. */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
