import type { AttemptStore } from '../attempts.js';
import type { JobRepo } from '../repo.js';
import type { Job } from '../types.js';
import type { BullmqOptions } from './bullmq.js';
import type { Consumer, QueueDriver } from './types.js';

/**
 * The BullMQ driver, its module imported when it is built: BullMQ and its dependencies are megabytes of code that
 * run when loaded, which a process on the embedded queue (no WEIR_REDIS_URL) must not pay at start-up. The import
 * starts at once; each call waits for it, so nothing is lost in between.
 */
export function bullmqDriver(attempts: AttemptStore, repo: JobRepo, o: BullmqOptions): QueueDriver {
  const loading = import('./bullmq.js').then(({ BullmqDriver }) => new BullmqDriver(attempts, repo, o));
  // A failed import is reported by the first call that needs the driver; this only keeps it from going unhandled.
  loading.catch(() => {});
  return {
    name: 'bullmq',
    announce: async (jobs: Job[]) => (await loading).announce(jobs),
    start: async (consumer: Consumer) => (await loading).start(consumer),
    stopDelivering: async () => (await loading).stopDelivering(),
    ping: async () => (await loading).ping(),
    close: async () => (await loading).close(),
  };
}
