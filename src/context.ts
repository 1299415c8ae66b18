import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { LocalBlobStore } from './blobs/local.js';
import { Scratch } from './blobs/scratch.js';
import type { BlobStore } from './blobs/types.js';
import { migrateToLatest, openMetadataStore, type MetadataStore } from './db/index.js';
import { DatasetRepo } from './datasets/repo.js';
import { DatasetService } from './datasets/service.js';
import { Engine } from './engine/duckdb.js';
import { Metrics } from './system/metrics.js';
import { readVersion } from './version.js';

/**
 * The composition root: every driver and service of a Weir process, built once from Config. Domain code
 * receives what it needs from here and never asks which driver it got.
 */
export interface AppContext {
  config: Config;
  log: Logger;
  version: string;
  engineVersion: string;
  startedAt: Date;
  store: MetadataStore;
  blobs: BlobStore;
  scratch: Scratch;
  engine: Engine;
  metrics: Metrics;
  datasets: DatasetService;
  /** Set when shutdown begins: readiness turns 503 so load balancers stop sending traffic. */
  shuttingDown: boolean;
  close(): Promise<void>;
}

export async function createContext(config: Config, log: Logger): Promise<AppContext> {
  await fs.mkdir(config.dataDir, { recursive: true });
  const scratch = new Scratch(path.join(config.dataDir, 'tmp'));
  await scratch.reset();
  const store = await openMetadataStore(config.database);
  let engine: Engine | undefined;
  try {
    // DuckDB opens on libuv's thread pool while the migrations run: the two overlap at start-up.
    const opening = Engine.open({ ...config.duckdb, tempDir: path.join(scratch.dir, 'duckdb') });
    const [applied, opened] = await Promise.allSettled([migrateToLatest(store), opening]);
    if (opened.status === 'fulfilled') engine = opened.value;
    if (applied.status === 'rejected') throw applied.reason;
    if (opened.status === 'rejected') throw opened.reason;
    const openedEngine = opened.value;
    if (applied.value.length > 0) log.info({ migrations: applied.value }, 'database migrated');
    const [versionRow] = await openedEngine.all('SELECT version() AS v');
    const blobs = new LocalBlobStore(path.join(config.dataDir, 'blobs'));
    const datasets = new DatasetService(new DatasetRepo(store.db), blobs, openedEngine, scratch, config);
    const metrics = new Metrics(() => datasets.totals());
    return {
      config,
      log,
      version: readVersion(),
      engineVersion: String(versionRow?.v ?? 'unknown'),
      startedAt: new Date(),
      store,
      blobs,
      scratch,
      engine: openedEngine,
      metrics,
      datasets,
      shuttingDown: false,
      async close() {
        openedEngine.close();
        await store.close();
      },
    };
  } catch (e) {
    engine?.close();
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
