import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pgAdminUrl } from './helpers/app.js';
import {
  eventually,
  redisAvailable,
  requireRedis,
  sharedDb,
  startJobHarness,
  type DriverName,
  type SharedDb,
} from './helpers/jobs.js';
import { MAIN } from './helpers/process.js';

/**
 * At-least-once, completed exactly once: a worker process is SIGKILLed in the middle of a job; the job is
 * detected (embedded: its lease runs out; BullMQ: stalled-job check), runs again, and completes exactly once.
 * Embedded on SQLite the worker is the job worker process of `weir serve`, killed together with the server (as a
 * power cut or an OOM kill of the whole service would) and restarted on the same data dir; on PostgreSQL and with
 * BullMQ it is `weir worker`.
 */
const redisUp = await redisAvailable();
const drivers: DriverName[] = redisUp || requireRedis ? ['embedded', 'bullmq'] : ['embedded'];

interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

const started: Proc[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
    // A detached server's worker process, if it outlived it.
    try {
      process.kill(-p.child.pid!, 'SIGKILL');
    } catch {
      // No such group (not detached, or already gone).
    }
  }
});

/** `weir serve` (embedded on SQLite) or `weir worker`, ready once it says its workers started. */
async function startWorkerProcess(driver: DriverName, db: SharedDb): Promise<Proc> {
  const serve = driver === 'embedded' && !pgAdminUrl;
  const child = spawn(process.execPath, [MAIN, serve ? 'serve' : 'worker'], {
    env: {
      ...process.env,
      ...db.env,
      // Nothing here calls the API: port 0 lets the OS pick a free one at bind, where a port chosen beforehand
      // could be taken meanwhile by another process of a busy machine (the server then exits early).
      WEIR_PORT: '0',
      WEIR_LOG_LEVEL: 'info',
      WEIR_JOB_LEASE: '1s',
      WEIR_JOB_POLL_INTERVAL: '100ms',
      WEIR_SHUTDOWN_TIMEOUT_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: `weir serve` and the worker process it supervises are killed together.
    detached: serve,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const proc: Proc = {
    child,
    output: () => out,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  started.push(proc);
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`worker process exited early:\n${out}`);
      return out.includes('job workers started') ? true : undefined;
    },
    'worker process ready',
    30_000,
  ).catch((e: unknown) => {
    // The output as it is when the wait fails (it was read when the wait began, when it was still empty).
    throw new Error(`${(e as Error).message}; its output:\n${out}`);
  });
  return proc;
}

describe.each(drivers)('SIGKILL mid-job: %s', (driver) => {
  it('the job runs again and completes exactly once with its result', { timeout: 90_000 }, async () => {
    if (driver === 'bullmq' && !redisUp)
      throw new Error('WEIR_TEST_REQUIRE_REDIS=1 but Redis does not answer on 127.0.0.1:6379');
    const db = await sharedDb(driver);
    // This process only enqueues and reads; the worker processes run the job.
    const h = await startJobHarness(driver, [], { db, workers: false });
    try {
      const marks = path.join(db.dataDir, 'marks.log');
      const first = await startWorkerProcess(driver, db);
      const job = await h.enqueue('test.sleep', { v: 1, ms: 3000, steps: 30, markFile: marks });
      await eventually(
        async () => ((await readFile(marks, 'utf8').catch(() => '')).includes('start') ? true : undefined),
        'the first attempt to start',
      );
      // The server and its worker process at once (the group), or `weir worker`.
      if (driver === 'embedded' && !pgAdminUrl) process.kill(-first.child.pid!, 'SIGKILL');
      else first.child.kill('SIGKILL');
      await first.exited;
      expect(await h.system.service.get(h.workspaceId, job.id)).toMatchObject({ status: 'running', attempts: 1 });

      await startWorkerProcess(driver, db);
      const done = await h.waitFor(job.id, ['succeeded', 'failed', 'cancelled'], 45_000);
      expect(done).toMatchObject({
        status: 'succeeded',
        attempts: 2,
        result: { sleptMs: 3000, attempt: 2 },
        error: null,
        progress: 100,
      });
      const lines = (await readFile(marks, 'utf8')).trim().split('\n');
      expect(lines).toEqual([`start ${job.id} 1`, `start ${job.id} 2`, `done ${job.id} 2`]);
    } finally {
      await h.close();
      await db.drop();
    }
  });
});

describe('weir worker', () => {
  it('explains that the embedded SQLite mode runs jobs inside weir serve', async () => {
    const db = await sharedDb('embedded');
    try {
      const env: Record<string, string | undefined> = { ...process.env, ...db.env };
      delete env.WEIR_REDIS_URL;
      const child = spawn(process.execPath, [MAIN, 'worker'], {
        env: { ...env, WEIR_DATABASE_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(err).toContain(
        'weir worker needs a queue other processes can share: set WEIR_REDIS_URL (BullMQ) or a PostgreSQL WEIR_DATABASE_URL',
      );
    } finally {
      await db.drop();
    }
  });
});
