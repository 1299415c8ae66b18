import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore } from '../blobs/types.js';
import type { EventBus } from '../bus/types.js';
import type { Config } from '../config.js';
import type { DatasetService } from '../datasets/service.js';
import type { MetadataStore } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import type { JobSystem } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/types.js';
import type { JobGrants } from '../identity/job-grants.js';
import { LiveRepo } from '../live/repo.js';
import { LiveWriter } from '../live/writer.js';
import type { Log } from '../logger.js';
import type { Metrics } from '../system/metrics.js';
import { ConnectorEvents } from './events.js';
import { connectorBackfillJob } from './jobs.js';
import { ConnectorMetrics } from './metrics.js';
import { ConnectorRepo } from './repo.js';
import { ConnectorRuntime } from './runtime.js';
import { SecretBox, parseSecretsKey } from './secrets.js';
import { ConnectorService } from './service.js';

export interface Connectors {
  service: ConnectorService;
  runtime: ConnectorRuntime;
  /** Reseals secrets of a key rotation and, where `run`, starts schedules, subscriptions and the flush loop. */
  start(run: boolean): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds connectors and live datasets (src/live/), wires live datasets into the datasets domain, and registers
 * the `connector.backfill` job kind. Every process builds them (a backfill job appends from a worker); only
 * processes that serve the API run them.
 */
export async function createConnectors(o: {
  config: Config;
  log: Log;
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  engine: Engine;
  bus: EventBus;
  metrics: Metrics;
  datasets: DatasetService;
  jobs: Pick<JobSystem, 'service' | 'register'>;
  grants: JobGrants;
}): Promise<Connectors> {
  const log = o.log;
  const repo = new ConnectorRepo(o.store.db);
  const liveRepo = new LiveRepo(o.store.db);
  const box = await secretBox(o.config, log);
  let runtime: ConnectorRuntime | null = null;
  const writer = new LiveWriter({
    repo: liveRepo,
    blobs: o.blobs,
    scratch: o.scratch,
    engine: o.engine,
    datasets: o.datasets,
    log,
    target: async (id) => {
      const c = await repo.byId(id);
      return c && runtime ? runtime.target(c) : null;
    },
  });
  const events = new ConnectorEvents(o.bus, log);
  // Loaded only in cluster mode (as the event bus's driver is): the embedded default does without ioredis.
  let redis: Redis | null = null;
  const secretsOf = (c: { secretsSealed: string | null }) =>
    c.secretsSealed ? (JSON.parse(box.open(c.secretsSealed)) as Record<string, string>) : {};
  runtime = new ConnectorRuntime({
    repo,
    writer,
    events,
    metrics: new ConnectorMetrics(o.metrics.registry),
    bus: o.bus,
    log,
    secrets: secretsOf,
    get redis() {
      return redis;
    },
    redisPrefix: o.config.redisPrefix,
    cluster: o.config.redisUrl !== null,
    allowPrivateNetworks: o.config.connectors.allowPrivateNetworks,
  });
  const service = new ConnectorService({
    repo,
    liveRepo,
    writer,
    runtime,
    datasets: o.datasets,
    engine: o.engine,
    jobs: o.jobs.service,
    secrets: box,
    allowPrivateNetworks: o.config.connectors.allowPrivateNetworks,
    log,
  });
  o.datasets.useLive({
    head: (datasetId) => writer.head(datasetId),
    feeder: (datasetId) => repo.byDataset(datasetId),
    settle: async (_workspaceId, datasetId) => {
      const feeder = await repo.byDataset(datasetId);
      const c = feeder ? await repo.byId(feeder.id) : null;
      if (c && runtime) await writer.settle(runtime.target(c));
    },
  });
  o.jobs.register(connectorBackfillJob({ repo, runtime, secrets: secretsOf, grants: o.grants }) as JobDefinition);
  const rt = runtime;
  return {
    service,
    runtime: rt,
    async start(run) {
      const resealed = await service.resealSecrets();
      if (resealed > 0) log.info({ connectors: resealed }, 'connector secrets resealed under the current key');
      if (!run) return;
      if (o.config.redisUrl) {
        const { Redis: RedisClient } = (await import('ioredis')).default;
        redis = new RedisClient(o.config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
        redis.on('error', (err) => log.warn({ err: { message: err.message } }, 'connector rate-limit Redis error'));
      }
      await rt.start();
    },
    async stop() {
      await rt.stop();
      events.close();
      await redis?.quit().catch(() => {});
      redis = null;
    },
  };
}

/**
 * The key that seals connector secrets: WEIR_SECRETS_KEY, else a key file in the data directory made on first
 * start (mode 0600). Nodes of a cluster must share one key: there, set WEIR_SECRETS_KEY.
 */
async function secretBox(config: Config, log: Log): Promise<SecretBox> {
  const { secretsKey, secretsOldKeys } = config.connectors;
  if (secretsKey) return new SecretBox(secretsKey, secretsOldKeys);
  const file = path.join(config.dataDir, 'secrets.key');
  let key: Buffer;
  try {
    key = parseSecretsKey(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: not a secrets key`, { cause: e });
    key = randomBytes(32);
    await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch(async (err: unknown) => {
      // Another process of this data directory made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      key = parseSecretsKey(await readFile(file, 'utf8'));
    });
    if (config.database.dialect === 'postgres')
      log.warn({ file }, 'WEIR_SECRETS_KEY is not set: connector secrets are sealed with a key of this node only');
  }
  return new SecretBox(key, secretsOldKeys);
}

export { ConnectorService } from './service.js';
