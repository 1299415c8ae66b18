// Jobs benchmark: no-op job throughput, end to end (enqueue in batches of 500 → every job succeeded), each driver
// against the bare library underneath in the same run:
//   (a) Weir embedded: the job system of dist/ in this process on a fresh SQLite file (test.noop, concurrency 8);
//   (b) bare better-sqlite3: the same `jobs` row shape, insert in batches, then a claim-8 + mark-succeeded loop;
//   (c) Weir BullMQ: the same job system with WEIR_REDIS_URL (Redis on 127.0.0.1:6379), metadata on SQLite;
//   (d) bare BullMQ: Queue.addBulk + a Worker (concurrency 8) with a no-op processor.
// Environment: BENCH_JOBS (default 20000 embedded), BENCH_BULLMQ_JOBS (default 10000), BENCH_REDIS_URL.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate } from 'node:timers';
import {
  ROOT,
  WORK_DIR,
  commandLine,
  describeMachine,
  freshDir,
  log,
  performance,
  round,
  sleep,
  writeResult,
} from './lib.mjs';

const EMBEDDED_TARGET = 1000;
const BULLMQ_TARGET = 500;
const BATCH = 500;
const CONCURRENCY = 8;
const dist = (p) => import(path.join(ROOT, 'dist', p));

async function weirRun(driver, n) {
  const [
    { loadConfig },
    { openMetadataStore, migrateToLatest },
    { createEventBus },
    { LocalBlobStore },
    { createJobSystem },
    { createLogger },
  ] = await Promise.all([
    dist('config.js'),
    dist('db/index.js'),
    dist('bus/index.js'),
    dist('blobs/local.js'),
    dist('jobs/index.js'),
    dist('logger.js'),
  ]);
  const dataDir = freshDir(path.join(WORK_DIR, `jobs-${driver}`));
  const tag = randomBytes(4).toString('hex');
  const config = loadConfig({
    WEIR_DATA_DIR: dataDir,
    WEIR_TEST_JOB_KINDS: '1',
    WEIR_LOG_LEVEL: 'warn',
    WEIR_JOB_QUEUE_PREFIX: `weirbench-${tag}`,
    WEIR_BUS_CHANNEL_PREFIX: `weirbench-${tag}:`,
    ...(driver === 'bullmq' ? { WEIR_REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' } : {}),
  });
  const logger = createLogger('warn', new Writable({ write: (_c, _e, done) => done() }));
  const store = await openMetadataStore(config.database);
  await migrateToLatest(store);
  const bus = createEventBus(config, logger);
  const system = createJobSystem({
    config,
    log: logger,
    store,
    bus,
    blobs: new LocalBlobStore(path.join(dataDir, 'blobs')),
    definitions: [],
  });
  await system.startWorkers();
  const workspaceId = 'ws_bench';
  const succeeded = async () =>
    Number(
      (
        await store.db
          .selectFrom('jobs')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('workspace_id', '=', workspaceId)
          .where('status', '=', 'succeeded')
          .executeTakeFirst()
      ).n,
    );
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      await system.service.enqueueMany(
        Array.from({ length: Math.min(BATCH, n - i) }, () => ({
          kind: 'test.noop',
          payload: { v: 1 },
          options: { workspaceId },
        })),
      );
    }
    const enqueuedMs = performance.now() - t0;
    for (;;) {
      if ((await succeeded()) >= n) break;
      if (performance.now() - t0 > 600_000) throw new Error(`weir ${driver}: not done after 10 min`);
      await sleep(20);
    }
    const totalMs = performance.now() - t0;
    return {
      jobs: n,
      enqueuePerSec: round(n / (enqueuedMs / 1000), 0),
      perSec: round(n / (totalMs / 1000), 0),
      totalS: round(totalMs / 1000, 2),
    };
  } finally {
    await system.stopWorkers(0);
    await system.close();
    await bus.close();
    await store.close();
  }
}

/** The same work with better-sqlite3 alone: insert rows of the jobs shape, claim 8 at a time, mark each succeeded. */
async function bareSqlite(n) {
  const { default: SQLite } = await import('better-sqlite3');
  const dir = freshDir(path.join(WORK_DIR, 'jobs-bare-sqlite'));
  const db = new SQLite(path.join(dir, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, workspace_id TEXT NOT NULL, payload_json TEXT NOT NULL, status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, worker_id TEXT, lease_until TEXT, result_json TEXT,
    run_after TEXT NOT NULL, created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, updated_at TEXT NOT NULL);
    CREATE INDEX jobs_claim ON jobs (status, kind, priority DESC, id);`);
  const insert = db.prepare(
    `INSERT INTO jobs (id, kind, workspace_id, payload_json, status, run_after, created_at, updated_at) VALUES (?, 'noop', 'ws', '{"v":1}', 'queued', ?, ?, ?)`,
  );
  const insertMany = db.transaction((rows) => {
    for (const r of rows) insert.run(r, new Date().toISOString(), new Date().toISOString(), new Date().toISOString());
  });
  const claim =
    db.prepare(`UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = 'w', lease_until = ?, started_at = ?, updated_at = ?
    WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND kind = 'noop' AND run_after <= ? ORDER BY priority DESC, id LIMIT ?) RETURNING *`);
  const finish =
    db.prepare(`UPDATE jobs SET status = 'succeeded', result_json = '{"ok":true}', finished_at = ?, updated_at = ?, worker_id = NULL, lease_until = NULL
    WHERE id = ? AND status = 'running' AND worker_id = 'w' AND attempts = ? RETURNING *`);
  const t0 = performance.now();
  let seq = 0;
  for (let i = 0; i < n; i += BATCH)
    insertMany(Array.from({ length: Math.min(BATCH, n - i) }, () => `job_${String(seq++).padStart(10, '0')}`));
  let done = 0;
  while (done < n) {
    const now = new Date().toISOString();
    const rows = claim.all(now, now, now, now, CONCURRENCY);
    for (const r of rows) {
      finish.get(new Date().toISOString(), new Date().toISOString(), r.id, r.attempts);
      done++;
    }
    // Yield like an async worker would between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const totalMs = performance.now() - t0;
  db.close();
  return { jobs: n, perSec: round(n / (totalMs / 1000), 0), totalS: round(totalMs / 1000, 2) };
}

async function bareBullmq(n) {
  const { Queue, Worker } = await import('bullmq');
  const connection = { url: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', maxRetriesPerRequest: null };
  const prefix = `bullbench-${randomBytes(4).toString('hex')}`;
  const queue = new Queue('noop', { connection, prefix });
  let done = 0;
  let resolveDone;
  const allDone = new Promise((r) => (resolveDone = r));
  const worker = new Worker('noop', async () => null, { connection, prefix, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    if (++done >= n) resolveDone();
  });
  await worker.waitUntilReady();
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i += BATCH) {
      await queue.addBulk(
        Array.from({ length: Math.min(BATCH, n - i) }, () => ({
          name: 'noop',
          data: {},
          opts: { removeOnComplete: true, removeOnFail: true, priority: 1_048_576 },
        })),
      );
    }
    await allDone;
    const totalMs = performance.now() - t0;
    return { jobs: n, perSec: round(n / (totalMs / 1000), 0), totalS: round(totalMs / 1000, 2) };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function runJobs() {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = await describeMachine();
  const n = Number(process.env.BENCH_JOBS ?? 20_000);
  const nb = Number(process.env.BENCH_BULLMQ_JOBS ?? 10_000);
  log(`jobs: ${n} no-op jobs, embedded vs bare better-sqlite3`);
  const bareSql = await bareSqlite(n);
  log(`bare better-sqlite3: ${bareSql.perSec} jobs/s`);
  const embedded = await weirRun('embedded', n);
  log(`weir embedded: ${embedded.perSec} jobs/s (enqueue ${embedded.enqueuePerSec} jobs/s)`);
  let bullmq = null;
  let bareBull = null;
  let bullError = null;
  try {
    bareBull = await bareBullmq(nb);
    log(`bare BullMQ: ${bareBull.perSec} jobs/s`);
    bullmq = await weirRun('bullmq', nb);
    log(`weir BullMQ: ${bullmq.perSec} jobs/s (enqueue ${bullmq.enqueuePerSec} jobs/s)`);
  } catch (e) {
    bullError = e instanceof Error ? e.message : String(e);
    log(`BullMQ part not measured: ${bullError}`);
  }
  const ratio = (a, b) => (a && b ? round(a / b, 2) : null);
  const result = {
    name: 'jobs',
    title: 'Jobs: no-op throughput (embedded and BullMQ, each against the bare driver)',
    startedAt,
    durationS: round((performance.now() - t0) / 1000, 1),
    machine,
    command: commandLine(),
    targets: [
      {
        what: `Weir embedded (SQLite), ${n} no-op jobs end to end`,
        value: embedded.perSec,
        unit: 'jobs/s',
        target: `≥ ${EMBEDDED_TARGET} jobs/s`,
        pass: embedded.perSec >= EMBEDDED_TARGET,
      },
      {
        what: `Weir BullMQ (Redis, SQLite metadata), ${nb} no-op jobs end to end`,
        value: bullmq?.perSec ?? null,
        unit: 'jobs/s',
        target: `≥ ${BULLMQ_TARGET} jobs/s`,
        pass: (bullmq?.perSec ?? 0) >= BULLMQ_TARGET,
      },
    ],
    figures: [
      [
        'Weir embedded',
        `${embedded.perSec} jobs/s (${embedded.totalS} s; enqueue alone ${embedded.enqueuePerSec} jobs/s)`,
      ],
      [
        'bare better-sqlite3 (insert + claim 8 + update, same row shape)',
        `${bareSql.perSec} jobs/s (${bareSql.totalS} s)`,
      ],
      ['ratio Weir embedded / bare better-sqlite3', String(ratio(embedded.perSec, bareSql.perSec))],
      [
        'Weir BullMQ',
        bullmq
          ? `${bullmq.perSec} jobs/s (${bullmq.totalS} s; enqueue alone ${bullmq.enqueuePerSec} jobs/s)`
          : `not measured: ${bullError}`,
      ],
      [
        'bare BullMQ (addBulk + Worker, no-op processor, concurrency 8)',
        bareBull ? `${bareBull.perSec} jobs/s (${bareBull.totalS} s)` : 'not measured',
      ],
      ['ratio Weir BullMQ / bare BullMQ', String(ratio(bullmq?.perSec, bareBull?.perSec))],
    ],
    notes: [
      'End to end: from the first enqueue (batches of 500 through JobService.enqueueMany) until every job is `succeeded` in the jobs table (polled every 20 ms). Workers run in the same process (test.noop, concurrency 8).',
      'Each Weir job costs: one INSERT (batched), a claim (embedded) or BullMQ delivery plus a fenced start UPDATE (BullMQ), the fenced end UPDATE … RETURNING, and two bus events per state change.',
      'The bare better-sqlite3 loop does the same statements synchronously without Kysely, events or the runtime; the bare BullMQ run uses Redis alone (no metadata table).',
    ],
    data: { embedded, bareSqlite: bareSql, bullmq, bareBullmq: bareBull },
  };
  writeResult(result);
  return result;
}
