import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createBlobStore } from './blobs/index.js';
import { Scratch } from './blobs/scratch.js';
import type { BlobStore } from './blobs/types.js';
import { createEventBus } from './bus/index.js';
import type { EventBus } from './bus/types.js';
import { LinkedEventBus } from './bus/process-link.js';
import type { Clock } from './clock.js';
import { migrateToLatest, openMetadataStore, type MetadataStore } from './db/index.js';
import { createDatasets, type DatasetService } from './datasets/index.js';
import type { IngestSubmitter } from './datasets/jobs.js';
import { Engine } from './engine/duckdb.js';
import { createJobSystem, type JobSystem } from './jobs/index.js';
import type { JobService } from './jobs/service.js';
import { createIdentity, createInvitations } from './identity/index.js';
import type { InvitationService } from './identity/invitations.js';
import { jobGrants } from './identity/job-grants.js';
import type { IdentityService } from './identity/service.js';
import { AuditLog } from './system/audit.js';
import type { AddressRules, RequestLimits } from './http/auth.js';
import { createGuards } from './http/guards.js';
import { Metrics } from './system/metrics.js';
import { createUploads, type UploadService } from './uploads/index.js';
import { createStorage, type StorageService } from './storage/index.js';
import { readVersion } from './version.js';
import { createPipelines, type PipelineService } from './pipelines/index.js';
import { createAnalytics, type AnalyticsService } from './analytics/index.js';
import { createModels, type ModelService } from './models/index.js';
import { createRealtime, type Realtime } from './realtime/index.js';
import { createConnectors, type ConnectorService } from './connectors/index.js';

/**
 * The composition root: every driver and service of a Weir process, built once from Config. Domain code
 * receives what it needs from here and never asks which driver it got.
 */
export interface AppContext {
  config: Config;
  log: Logger;
  version: string;
  startedAt: Date;
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  engine: Engine;
  metrics: Metrics;
  datasets: DatasetService;
  identity: IdentityService;
  invitations: InvitationService;
  audit: AuditLog;
  /** Per-user, per-key and per-address request limits; null when every limit is off. */
  requestLimits: RequestLimits | null;
  globalNetworkRules: AddressRules | null;
  workspaceNetworkRules(allowJson: string, denyJson: string): AddressRules | null;
  /** Progress and state events (in-process, or Redis pub/sub in cluster mode); the WebSocket hub and SSE listen. */
  bus: EventBus;
  /** The job queue of this process (embedded or BullMQ) and, unless started without them, its workers. */
  queue: JobSystem;
  /** Enqueue, list, cancel, retry jobs (what the API and domain code use). */
  jobs: JobService;
  /** Accepted uploads become ingest jobs (POST /datasets without ?wait=true). */
  ingests: IngestSubmitter;
  /** Resumable (tus) uploads at /api/v1/uploads. */
  uploads: UploadService;
  /** Storage statistics, retention sweeps and their once-per-cluster schedule (src/storage/). */
  storage: StorageService;
  /** Saved pipelines, previews and pipeline runs (src/pipelines/). */
  pipelines: PipelineService;
  /** Models: registry, training jobs and inference (src/models/). */
  models: ModelService;
  /** Connectors and the live datasets they feed (src/connectors/, src/live/). */
  connectors: ConnectorService;
  /** Statistics, histograms, value counts, time series, queries and charts over dataset versions (src/analytics/). */
  analytics: AnalyticsService;
  /** The WebSocket hub, its topics and the stream caps (src/realtime/); closed here with the rest. */
  realtime: Realtime;
  /** Set when shutdown begins: readiness turns 503 so load balancers stop sending traffic. */
  shuttingDown: boolean;
  close(): Promise<void>;
}

export interface ContextOptions {
  /**
   * Where job attempts run: `supervised` in a worker process this one starts and restarts (`weir serve`: a job
   * that exhausts memory costs an attempt, never the API), `inline` in this process (`weir worker`, the
   * supervised worker itself; the default, which tests use), `none` nowhere here (`weir serve --no-workers`).
   */
  jobs?: 'supervised' | 'inline' | 'none';
  /** Supervised: where the worker process's log lines go (default: this process's stdout). */
  workerLog?: (line: string) => void;
  /** The event bus to use instead of the configured one (the supervised worker's end of its IPC link). */
  bus?: EventBus;
  /** Log how to create the first user when none exists (default true; the supervised worker leaves it to its server). */
  firstRunHint?: boolean;
  /**
   * Run connectors here: schedules, MQTT subscriptions and the live datasets' flush loop (`weir serve` and test
   * apps; default false: job worker processes only build them, for backfill jobs).
   */
  connectors?: boolean;
  /** The time expiry, leases, backoff and retention go by (default the system clock; tests move a ManualClock). */
  clock?: Clock;
}

export async function createContext(config: Config, log: Logger, options: ContextOptions = {}): Promise<AppContext> {
  await fs.mkdir(config.dataDir, { recursive: true });
  const scratch = new Scratch(path.join(config.dataDir, 'tmp'));
  await scratch.reset();
  const store = await openMetadataStore(config.database, (err) =>
    log.warn({ err: { message: err.message } }, 'database connection lost; the pool reconnects on the next query'),
  );
  // DuckDB opens on first use (a preview, a query, an ingest): start-up and an idle process do without it.
  const engine = Engine.lazy({ ...config.duckdb, tempDir: path.join(scratch.dir, 'duckdb') });
  let bus: EventBus | undefined;
  let openQueue: JobSystem | undefined;
  try {
    const applied = await migrateToLatest(store);
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
    const blobs = await createBlobStore(config.blobs, scratch);
    const jobsMode = options.jobs ?? 'inline';
    // Embedded and supervised: events cross to and from the worker process over IPC (Redis carries them otherwise).
    const link = jobsMode === 'supervised' && !config.redisUrl ? new LinkedEventBus('api', log) : null;
    const events = (bus = options.bus ?? link ?? (await createEventBus(config, log)));
    const metrics = new Metrics();
    const writeWorkerLog = options.workerLog ?? ((line: string) => void process.stdout.write(`${line}\n`));
    // Built first: each domain below registers its job kinds on it and enqueues through its service.
    const queue = (openQueue = createJobSystem({
      config,
      log,
      clock: options.clock,
      store,
      bus: events,
      blobs,
      execution:
        jobsMode === 'supervised' ? { mode: 'supervised', config, link, writeLog: writeWorkerLog } : { mode: 'inline' },
    }));
    if (queue.supervisor) metrics.watchWorker(queue.supervisor);
    const audit = new AuditLog(store.db, log);
    const guards = await createGuards(config, log);
    const identity = await createIdentity(config, store, audit, guards.loginGuard, log, {
      networkRules: (rules, ip) => guards.workspaceNetworkRules(rules.allowJson, rules.denyJson)?.allows(ip) ?? true,
      bus: events,
      clock: options.clock,
    });
    await identity.users.bootstrap(config.auth.bootstrapAdmin, { hint: options.firstRunHint });
    const invitations = createInvitations(config, store, identity, options.clock);
    // What a job's creator may do when the job runs: handlers check it again before they store or prune anything.
    const grants = jobGrants(identity, config.auth.insecureDisabled);
    const datasets = createDatasets({
      config,
      log,
      store,
      blobs,
      engine,
      scratch,
      bus: events,
      metrics,
      grants,
      jobs: queue,
    });
    metrics.watchDatasets(() => datasets.service.totals());
    const uploads = createUploads({
      config,
      log,
      store,
      blobs,
      scratch,
      bus: events,
      datasets: datasets.service,
      metrics,
      grants,
      jobs: queue,
      clock: options.clock,
    });
    const storage = createStorage({
      config,
      log,
      store,
      blobs,
      scratch,
      grants,
      uploads: uploads.retention,
      versions: datasets.service.versionRetention,
      jobs: queue,
      clock: options.clock,
    });
    const pipelines = createPipelines({
      store,
      blobs,
      scratch,
      engine,
      datasets: datasets.service,
      grants,
      jobs: queue,
      limits: config.work,
    });
    const models = createModels({
      store,
      blobs,
      scratch,
      engine,
      bus: events,
      datasets: datasets.service,
      grants,
      jobs: queue,
      owners: storage.owners,
      maxRows: config.work.modelMaxRows,
    });
    const connectors = await createConnectors({
      config,
      log,
      store,
      blobs,
      scratch,
      engine,
      bus: events,
      metrics,
      datasets: datasets.service,
      jobs: queue,
      grants,
    });
    const analytics = createAnalytics({
      config,
      log,
      engine,
      blobs,
      scratch,
      datasets: datasets.service,
      jobs: queue.service,
      workspaces: identity.workspaces,
    });
    const realtime = createRealtime({
      config,
      log,
      bus: events,
      metrics,
      jobs: queue.service,
      datasets: datasets.service,
      uploads: uploads.service,
      models,
      connectors: connectors.service,
    });
    if (jobsMode !== 'none') await queue.startWorkers();
    await connectors.start(options.connectors === true && config.connectors.run);
    // Sweeps are scheduled where jobs run (once per cluster: the scheduler takes a lock).
    storage.start({ scheduler: jobsMode === 'inline' });
    return {
      config,
      log,
      version: readVersion(),
      startedAt: new Date(),
      store,
      blobs,
      scratch,
      engine,
      metrics,
      datasets: datasets.service,
      identity,
      invitations,
      audit,
      requestLimits: guards.requestLimits,
      globalNetworkRules: guards.globalNetworkRules,
      workspaceNetworkRules: guards.workspaceNetworkRules,
      bus: events,
      queue,
      jobs: queue.service,
      ingests: datasets.ingests,
      storage: storage.service,
      pipelines,
      models,
      connectors: connectors.service,
      analytics,
      realtime,
      uploads: uploads.service,
      shuttingDown: false,
      async close() {
        realtime.close();
        // Subscriptions stop and what they received is flushed while DuckDB, blobs and the database are open.
        await connectors.stop();
        // Summary builds are interrupted first: they need DuckDB, the blob store and the database until they stop.
        await analytics.close();
        await storage.stop();
        // Running jobs finish (or are queued again) while the database, the bus and DuckDB are still open.
        await queue.stopWorkers(config.shutdownTimeoutMs);
        await queue.close();
        await events.close();
        await guards.close();
        engine.close();
        await store.close();
      },
    };
  } catch (e) {
    await openQueue?.close();
    await bus?.close();
    engine.close();
    await store.close();
    throw e;
  }
}

/** `weir migrate`: apply migrations and report them, without starting anything else. */
export async function migrateOnly(config: Config): Promise<string[]> {
  const store = await openMetadataStore(config.database);
  try {
    return await migrateToLatest(store);
  } finally {
    await store.close();
  }
}
