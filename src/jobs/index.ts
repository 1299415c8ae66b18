import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/types.js';
import type { EventBus } from '../bus/types.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { MetadataStore } from '../db/index.js';
import { AttemptStore } from './attempts.js';
import { bullmqDriver } from './drivers/bullmq-on-demand.js';
import { EmbeddedDriver } from './drivers/embedded.js';
import type { QueueDriver } from './drivers/types.js';
import { ForwardingDriver } from './drivers/forwarding.js';
import { JobEvents } from './events.js';
import { JobRegistry } from './registry.js';
import { JobRepo } from './repo.js';
import { JobRuntime } from './runtime.js';
import { JobService } from './service.js';
import { SWEEP_EVERY_MS, SWEEP_KIND, SYSTEM_WORKSPACE_ID, sweepJob } from './sweep.js';
import { TEST_JOB_KINDS } from './test-kinds.js';
import { threadDefinitions } from './threads/definitions.js';
import { jobThreadEntry } from './threads/entry-url.js';
import { ThreadPool } from './threads/pool.js';
import type { JobContext, JobDefinition } from './types.js';
import { WorkerSupervisor } from './supervisor.js';
import type { LinkedEventBus } from '../bus/process-link.js';

/**
 * Where this process's job attempts run: `inline` here (`weir worker`, the supervised worker itself, tests), or
 * `supervised` in a worker process this one starts and restarts (`weir serve`: src/jobs/supervisor.ts).
 */
export type JobExecution =
  | { mode: 'inline' }
  | {
      mode: 'supervised';
      /** The server's whole configuration, handed to the worker. */
      config: Config;
      /** The API side of the event bus link; null when events travel through Redis. */
      link: LinkedEventBus | null;
      /** Where the worker's log lines go. */
      writeLog(line: string): void;
    };

export interface JobSystemOptions {
  config: Pick<Config, 'jobs' | 'redisUrl' | 'testJobKinds' | 'logLevel'>;
  /** Default inline. */
  execution?: JobExecution;
  log: Logger;
  store: MetadataStore;
  bus: EventBus;
  blobs: BlobStore;
  /** Tests: a deterministic jitter source. */
  random?: () => number;
  /** Tests: progress write interval (default 250 ms). */
  progressIntervalMs?: number;
  /** The time jobs are stamped, leased, retried and swept by (default the system clock). */
  clock?: Clock;
}

/** The queue of a process: the service everyone enqueues through, and this process's workers. */
export interface JobSystem {
  service: JobService;
  registry: JobRegistry;
  /**
   * Adds a domain's job kind (ingest, pipeline.run, …); the sweep and, with WEIR_TEST_JOB_KINDS, the test kinds are
   * registered already. Domains register while the context is built, before workers start: a kind registered later
   * would have no worker slot, so it throws.
   */
  register(definition: JobDefinition): void;
  driver: QueueDriver;
  /** Starts consuming jobs in this process (`weir serve` unless --no-workers, `weir worker`); idempotent. */
  startWorkers(): Promise<void>;
  /** Stops taking jobs; running ones get `timeoutMs` to finish, then are queued again (the attempt not counted). */
  stopWorkers(timeoutMs: number): Promise<void>;
  /**
   * Runs a thread definition (src/jobs/threads/definitions.ts) for a running job: in the job thread pool when
   * this process has one (aborting `ctx.signal` terminates the thread), else on this thread with `ctx` itself.
   * How a queued kind (model.train) does its CPU part off the worker's event loop.
   */
  runInThread(kind: string, payload: unknown, ctx: JobContext): Promise<unknown>;
  /** Attempts running in this process now. */
  readonly activeAttempts: number;
  /** What this process's job attempts write into the rows they hold, once workers started here; else null. */
  readonly workerId: string | null;
  /** The worker process, when this process supervises one. */
  readonly supervisor: WorkerSupervisor | null;
  close(): Promise<void>;
}

/** Builds the driver chosen by config (BullMQ when WEIR_REDIS_URL is set), the registry, service and runtime. */
export function createJobSystem(o: JobSystemOptions): JobSystem {
  const { config, log, store } = o;
  const repo = new JobRepo(store.db);
  const attempts = new AttemptStore(store.db, store.dialect);
  const events = new JobEvents(o.bus, log);
  const threadDefs = new Map(threadDefinitions({ testJobKinds: config.testJobKinds }).map((d) => [d.kind, d]));
  const threadKinds = new Set(threadDefs.keys());
  const registry = new JobRegistry();
  let workersStarted = false;
  const register = (definition: JobDefinition) => {
    if (workersStarted) throw new Error(`job kind '${definition.kind}' is registered after workers started`);
    if (definition.thread && !threadKinds.has(definition.kind))
      throw new Error(
        `job kind '${definition.kind}' runs in a thread but is missing from src/jobs/threads/definitions.ts`,
      );
    registry.register(definition);
  };
  // The sweep looks kinds up (for their artifacts) when it runs, after the domains registered theirs.
  register(sweepJob({ repo, registry, blobs: o.blobs, retentionMs: config.jobs.retentionMs, clock: o.clock }));
  if (config.testJobKinds) for (const definition of TEST_JOB_KINDS) register(definition);

  const leaseMs = config.jobs.leaseMs;
  const execution = o.execution ?? { mode: 'inline' };
  let supervisor: WorkerSupervisor | null = null;
  let driver: QueueDriver;
  if (config.redisUrl)
    driver = bullmqDriver(attempts, repo, {
      redisUrl: config.redisUrl,
      prefix: config.jobs.queuePrefix,
      leaseMs,
      log,
    });
  // Supervised on the embedded queue: the worker process claims the rows; this process only tells it of new ones.
  else if (execution.mode === 'supervised') driver = new ForwardingDriver((jobs) => supervisor?.announce(jobs));
  else driver = new EmbeddedDriver(attempts, { leaseMs, pollMs: config.jobs.pollMs, log, clock: o.clock });
  const service = new JobService({
    db: store.db,
    dialect: store.dialect,
    registry,
    events,
    driver,
    log,
    clock: o.clock,
  });
  if (execution.mode === 'supervised') {
    const entry = jobThreadEntry();
    if (!entry) throw new Error('supervised job execution needs the weir entry point (setJobThreadEntry)');
    supervisor = new WorkerSupervisor({
      config: execution.config,
      log,
      entry,
      attempts,
      events,
      bus: execution.link,
      writeLog: execution.writeLog,
      // BullMQ's stalled-job check hands a dead worker's jobs back by itself; the embedded queue is told.
      requeued: (jobs) => (config.redisUrl ? undefined : supervisor?.announce(jobs)),
    });
  }

  let runtime: JobRuntime | null = null;
  let threads: ThreadPool | null = null;
  let sweepTimer: NodeJS.Timeout | null = null;
  let starting: Promise<void> | null = null;

  const scheduleSweep = async () => {
    try {
      if ((await service.pendingCount(SWEEP_KIND)) === 0)
        await service.enqueue(SWEEP_KIND, { v: 1 }, { workspaceId: SYSTEM_WORKSPACE_ID, priority: -10 });
    } catch (err) {
      log.warn({ err }, 'scheduling the job retention sweep failed');
    }
  };

  return {
    service,
    registry,
    register,
    driver,
    supervisor,
    runInThread(kind, payload, ctx) {
      const definition = threadDefs.get(kind);
      if (!definition) return Promise.reject(new Error(`'${kind}' is not a job thread kind`));
      if (!threads) return definition.handler(payload, ctx);
      const { jobId, workspaceId, createdBy, attempt, maxAttempts } = ctx;
      return threads.run(
        payload,
        { jobId, kind, workspaceId, createdBy, attempt, maxAttempts },
        ctx.signal,
        ctx.progress,
      );
    },
    get activeAttempts() {
      return runtime?.active ?? 0;
    },
    get workerId() {
      return runtime?.workerId ?? null;
    },
    startWorkers() {
      workersStarted = true;
      if (supervisor) {
        supervisor.start();
        return Promise.resolve();
      }
      return (starting ??= (async () => {
        const entry = jobThreadEntry();
        if (entry && threadKinds.size > 0)
          threads = new ThreadPool(entry, {
            weirJobThread: 1,
            testJobKinds: config.testJobKinds,
            logLevel: config.logLevel,
          });
        runtime = new JobRuntime({
          registry,
          attempts,
          events,
          log,
          threads,
          random: o.random,
          progressIntervalMs: o.progressIntervalMs,
          clock: o.clock,
          workerId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
          leaseMs,
          heartbeatMs: Math.max(50, Math.min(2000, Math.floor(leaseMs / 3))),
        });
        await driver.start(runtime);
        await scheduleSweep();
        sweepTimer = setInterval(() => void scheduleSweep(), SWEEP_EVERY_MS);
        sweepTimer.unref();
        log.info({ driver: driver.name, workerId: runtime.workerId, kinds: runtime.kinds }, 'job workers started');
      })());
    },
    async stopWorkers(timeoutMs) {
      if (supervisor) return supervisor.stop(timeoutMs);
      if (!starting) return;
      await starting.catch(() => {});
      if (sweepTimer) clearInterval(sweepTimer);
      sweepTimer = null;
      await driver.stopDelivering();
      if (runtime && runtime.active > 0)
        log.info({ running: runtime.active, timeoutMs }, 'waiting for running jobs to finish');
      await runtime?.drain(timeoutMs);
      await threads?.close();
      threads = null;
    },
    async close() {
      await this.stopWorkers(0);
      await driver.close();
    },
  };
}

export { JobService } from './service.js';
export type { Job } from './types.js';
