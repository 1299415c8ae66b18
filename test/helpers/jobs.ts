import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { LocalBlobStore } from '../../src/blobs/local.js';
import { createEventBus } from '../../src/bus/index.js';
import { topics, type BusEvent, type EventBus } from '../../src/bus/types.js';
import { loadConfig, type Config } from '../../src/config.js';
import { migrateToLatest, openMetadataStore, type MetadataStore } from '../../src/db/index.js';
import { createJobSystem, type JobSystem } from '../../src/jobs/index.js';
import { setJobThreadEntry } from '../../src/jobs/threads/entry-url.js';
import type { Job, JobDefinition, JobStatus } from '../../src/jobs/types.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, pgAdminUrl } from './app.js';

export type DriverName = 'embedded' | 'bullmq';
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** Does Redis answer on 127.0.0.1:6379? (CI always runs it; with WEIR_TEST_REQUIRE_REDIS=1 its absence fails the suite.) */
export async function redisAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.connect(6379, '127.0.0.1', () => {
      s.write('PING\r\n');
      s.once('data', (d) => done(d.toString().startsWith('+PONG')));
    });
  });
}

export const requireRedis = process.env.WEIR_TEST_REQUIRE_REDIS === '1';

/** Job threads load the built bin (tests run from sources, which a thread cannot load). */
export function useBuiltThreadEntry(): void {
  setJobThreadEntry(pathToFileURL(path.resolve('dist/weir.mjs')));
}

/** A metadata DB (fresh SQLite file or PostgreSQL database) and data dir shared by the processes of one test. */
export interface SharedDb {
  dataDir: string;
  /** WEIR_* variables that point a process at this DB (and a fresh queue prefix / bus prefix). */
  env: Record<string, string>;
  drop(): Promise<void>;
}

export async function sharedDb(driver: DriverName): Promise<SharedDb> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-jobs-'));
  const database = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
  const tag = randomBytes(4).toString('hex');
  const env: Record<string, string> = {
    WEIR_DATA_DIR: dataDir,
    WEIR_DATABASE_URL: database ? database.url : `sqlite:${path.join(dataDir, 'weir.db')}`,
    WEIR_JOB_QUEUE_PREFIX: `weirtest-${tag}`,
    WEIR_BUS_CHANNEL_PREFIX: `weirtest-${tag}:`,
    WEIR_TEST_JOB_KINDS: '1',
    WEIR_DUCKDB_THREADS: '1',
    ...(driver === 'bullmq' ? { WEIR_REDIS_URL: REDIS_URL } : {}),
  };
  return {
    dataDir,
    env,
    async drop() {
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface JobHarness {
  system: JobSystem;
  store: MetadataStore;
  bus: EventBus;
  config: Config;
  /** Events of `workspace:<workspaceId>` seen so far. */
  events: BusEvent[];
  workspaceId: string;
  enqueue(
    kind: string,
    payload: unknown,
    options?: Partial<Parameters<JobSystem['service']['enqueue']>[2]>,
  ): Promise<Job>;
  waitFor(id: string, statuses: JobStatus[], timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
}

/** A job system in this process over `db` (own DB when omitted), with workers started unless `workers: false`. */
export async function startJobHarness(
  driver: DriverName,
  definitions: JobDefinition[],
  opts: { db?: SharedDb; workers?: boolean; env?: Record<string, string>; random?: () => number } = {},
): Promise<JobHarness> {
  const db = opts.db ?? (await sharedDb(driver));
  const config = loadConfig({ WEIR_JOB_LEASE: '2s', WEIR_JOB_POLL_INTERVAL: '100ms', ...db.env, ...opts.env });
  const log = createLogger('warn', new Writable({ write: (_c, _e, done) => done() }));
  const store = await openMetadataStore(config.database);
  await migrateToLatest(store);
  const bus = await createEventBus(config, log);
  const blobs = new LocalBlobStore(path.join(config.dataDir, 'blobs'));
  const system = createJobSystem({ config, log, store, bus, blobs, random: opts.random ?? (() => 0.999) });
  for (const definition of definitions) system.register(definition);
  const workspaceId = `ws_t${randomBytes(4).toString('hex')}`;
  const events: BusEvent[] = [];
  const unsubscribe = bus.subscribe(topics.workspace(workspaceId), (e) => events.push(e));
  await bus.whenSubscribed?.(topics.workspace(workspaceId));
  if (opts.workers !== false) await system.startWorkers();
  return {
    system,
    store,
    bus,
    config,
    events,
    workspaceId,
    enqueue: (kind, payload, options = {}) => system.service.enqueue(kind, payload, { workspaceId, ...options }),
    async waitFor(id, statuses, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let job: Job | null = null;
      while (Date.now() < deadline) {
        job = await system.service.get(workspaceId, id);
        if (statuses.includes(job.status)) return job;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`job ${id} not ${statuses.join('|')} within ${timeoutMs} ms: ${JSON.stringify(job)}`);
    },
    async close() {
      unsubscribe();
      await system.stopWorkers(0);
      await system.close();
      await bus.close();
      await store.close();
      if (!opts.db) await db.drop();
    },
  };
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
