import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createContext } from '../context.js';

/** What closing the queue, the bus and the database may take after running jobs have ended or been queued again. */
const WORKER_CLOSE_TIMEOUT_MS = 10_000;

/**
 * `weir worker`: job workers only, no HTTP. Consumes from Redis (BullMQ) when WEIR_REDIS_URL is set, or claims
 * rows of a PostgreSQL metadata database (embedded driver; several workers share the table). SIGTERM/SIGINT
 * stop taking jobs; running ones get WEIR_SHUTDOWN_TIMEOUT_MS to finish, then are queued again.
 */
export async function runWorker(config: Config, log: Logger): Promise<void> {
  if (!config.redisUrl && config.database.dialect === 'sqlite') {
    throw new Error(
      'weir worker needs a queue other processes can share: set WEIR_REDIS_URL (BullMQ) or a PostgreSQL WEIR_DATABASE_URL. ' +
        'With the embedded SQLite default, `weir serve` runs jobs in a worker process of its own.',
    );
  }
  const context = await createContext(config, log, { jobs: 'inline' });
  log.info(
    {
      queue: context.queue.driver.name,
      database: config.database.dialect,
      kinds: context.queue.registry.all().map((k) => k.kind),
    },
    'weir worker is running',
  );
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      context.shuttingDown = true;
      log.info(
        { signal, running: context.queue.activeAttempts },
        'worker shutting down: no new jobs, finishing running ones',
      );
      // Closing Redis or the database hangs for as long as they do not answer: bounded like `weir serve`.
      const limitMs = config.shutdownTimeoutMs + WORKER_CLOSE_TIMEOUT_MS;
      setTimeout(() => {
        log.error(
          { limitMs },
          'worker shutdown did not finish in time (is a backing service such as Redis unreachable?); exiting',
        );
        process.exit(1);
      }, limitMs);
      context.queue
        .stopWorkers(config.shutdownTimeoutMs)
        .then(() => context.close())
        .then(
          () => {
            log.info('worker stopped');
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'worker shutdown failed');
            process.exit(1);
          },
        );
    });
  }
}
