import { LinkedEventBus, isBusLinkMessage } from '../bus/process-link.js';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import { createLogger } from '../logger.js';
import { weirCommand } from '../weir-command.js';
import { messageType, type FromWorker, type ToWorker } from './worker-protocol.js';

/** What closing the queue, the bus and the database may take after running jobs ended or were queued again. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * `weir supervised-worker`: the job worker process `weir serve` starts (src/jobs/supervisor.ts); not a command
 * for people. It runs the server's job workers over the same database, blobs and queue, from the configuration
 * the server sends, and exits when told to stop or when the server goes away (its IPC channel closes), so that
 * no orphan keeps running jobs after the server was killed: its running jobs are queued again for the next one.
 */
export function runSupervisedWorker(): void {
  const send = (m: FromWorker) => {
    if (process.connected) process.send!(m);
  };
  if (!process.send) {
    console.error(
      `weir supervised-worker is started by \`weir serve\`; to run job workers yourself, use \`${weirCommand('worker')}\``,
    );
    process.exit(2);
  }
  let context: AppContext | null = null;
  let link: LinkedEventBus | null = null;
  let stopping: Promise<void> | null = null;
  const early: ToWorker[] = [];

  const stop = (timeoutMs: number, code: number) =>
    (stopping ??= (async () => {
      // Closing hangs for as long as a backing service (Redis) does not answer: bounded like `weir serve`.
      setTimeout(() => process.exit(1), timeoutMs + CLOSE_TIMEOUT_MS);
      try {
        if (context) {
          context.shuttingDown = true;
          await context.queue.stopWorkers(timeoutMs);
          await context.close();
        }
      } finally {
        process.exit(code);
      }
    })());

  const handle = (m: ToWorker) => {
    if (isBusLinkMessage(m)) {
      link?.receive(m);
      return;
    }
    switch (m.type) {
      case 'announce':
        void context?.queue.driver.announce(m.jobs);
        return;
      case 'metrics':
        void (context?.metrics.registry.getMetricsAsJSON() ?? Promise.resolve([])).then(
          (metrics) => send({ type: 'metrics', requestId: m.requestId, metrics }),
          () => send({ type: 'metrics', requestId: m.requestId, metrics: [] }),
        );
        return;
      case 'stop':
        void stop(m.timeoutMs, 0);
        return;
      case 'start':
        return;
    }
  };

  process.on('message', (raw: unknown) => {
    if (messageType(raw) === null) return;
    const m = raw as ToWorker;
    if (m.type === 'start') {
      if (!context && !stopping) void start(m.config);
      return;
    }
    if (m.type === 'stop' || context) handle(m);
    else early.push(m);
  });
  // The server went away without stopping us (killed): stop taking jobs and hand the running ones back at once.
  process.on('disconnect', () => void stop(0, 0));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // A Ctrl-C reaches the whole process group: the server stops this worker itself, in order.
    process.on(signal, () => {});
  }

  async function start(config: Config): Promise<void> {
    const log = createLogger(config.logLevel).child({ process: 'worker' });
    try {
      const { createContext } = await import('../context.js');
      if (!config.redisUrl) {
        link = new LinkedEventBus('worker', log);
        link.attach((bm) => send(bm));
      }
      const built = await createContext(config, log, { jobs: 'inline', bus: link ?? undefined, firstRunHint: false });
      if (stopping) {
        await built.close();
        return;
      }
      context = built;
      for (const m of early.splice(0)) handle(m);
      send({ type: 'ready', workerId: built.queue.workerId ?? 'unknown' });
    } catch (err) {
      log.fatal({ err }, 'job worker process could not start');
      process.exit(1);
    }
  }
}
