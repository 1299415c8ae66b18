import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createContext, type AppContext } from './context.js';
import { readyNotice } from './ready-notice.js';

export interface RunningServer {
  app: FastifyInstance;
  context: AppContext;
  url: string;
  /** Stops accepting connections, lets in-flight requests finish (up to the shutdown timeout), closes DB and DuckDB. */
  stop(reason: string): Promise<void>;
}

export interface ServeOptions {
  /** Run jobs in a worker process this one supervises (default true; `--no-workers` for API-only nodes). */
  workers?: boolean;
  /** Where the worker process's JSON log lines go (default: stdout as they are; on a terminal, made readable). */
  workerLog?: (line: string) => void;
  /** Shows people the ready notice as text (a terminal); without it the notice is fields of the ready log line. */
  announce?: (text: string) => void;
}

export async function startServer(config: Config, log: Logger, options: ServeOptions = {}): Promise<RunningServer> {
  const context = await createContext(config, log, {
    jobs: options.workers === false ? 'none' : 'supervised',
    workerLog: options.workerLog,
    connectors: true,
  });
  const app = await buildApp(context);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const url =
    typeof address === 'object' && address
      ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : String(address);
  let stopping: Promise<void> | null = null;
  const stop = (reason: string) =>
    (stopping ??= (async () => {
      context.shuttingDown = true;
      log.info({ reason }, 'shutting down: no new connections, finishing in-flight requests');
      const timer = setTimeout(() => {
        log.warn(
          { timeoutMs: config.shutdownTimeoutMs },
          'in-flight requests did not finish in time; closing connections',
        );
        app.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      timer.unref();
      try {
        // In-flight requests first: one may be waiting for a job (`?wait=true`), which the worker must still run.
        // Closing the app then closes the context, where running jobs get their time to finish (or are queued again).
        await app.close();
      } finally {
        clearTimeout(timer);
      }
      log.info('shutdown complete');
    })());
  return { app, context, url, stop };
}

/**
 * After the graceful phase (WEIR_SHUTDOWN_TIMEOUT_MS), closing the database, Redis and DuckDB takes
 * milliseconds when they answer; a service that does not (Redis down: its clients retry for ever) must not keep
 * the process from exiting, or a supervisor waits on it until it sends SIGKILL.
 */
export const CLOSE_TIMEOUT_MS = 10_000;

/** `weir serve`: run until SIGTERM/SIGINT, then shut down gracefully, within a bound. */
export async function serve(config: Config, log: Logger, options: ServeOptions = {}): Promise<void> {
  const server = await startServer(config, log, options);
  const notice = readyNotice(config, server.url, !(await server.context.identity.users.hasAny()), process.cwd());
  const ready = { url: server.url, dataDir: config.dataDir, database: config.database.dialect, docs: notice.next.docs };
  if (options.announce) {
    log.info(ready, 'weir is listening');
    options.announce(notice.text);
  } else log.info({ ...ready, next: notice.next }, 'weir is listening');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      const limitMs = config.shutdownTimeoutMs + CLOSE_TIMEOUT_MS;
      // Not unref'd: this timer is what ends a shutdown that hangs.
      setTimeout(() => {
        log.error(
          { limitMs },
          'shutdown did not finish in time (is a backing service such as Redis unreachable?); exiting',
        );
        process.exit(1);
      }, limitMs);
      server.stop(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
