import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../src/jobs/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually, sharedDb, startJobHarness } from './helpers/jobs.js';
import { freePort, MAIN, TEST_SERVER_ENV } from './helpers/process.js';
import { TestClient, wsUrl } from './helpers/realtime.js';

/**
 * `weir serve` runs jobs in a worker process it supervises (src/jobs/supervisor.ts): the jobs, their events, logs
 * and metrics cross from it to the API, and a job that exhausts memory costs attempts, never the API.
 */

const ws = 'ws_default';

async function waitJob(t: TestApp, id: string, statuses: Job['status'][], timeoutMs = 20_000): Promise<Job> {
  return eventually(
    async () => {
      const job = await t.context.jobs.get(ws, id);
      return statuses.includes(job.status) ? job : undefined;
    },
    `job ${id} to be ${statuses.join('|')}`,
    timeoutMs,
  );
}

describe('the supervised worker process', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      { WEIR_TEST_JOB_KINDS: '1', WEIR_WORKER_MEMORY_LIMIT: '256MiB', WEIR_JOB_LEASE: '60s' },
      { jobs: 'supervised' },
    );
    await t.context.queue.supervisor!.whenReady();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs jobs in its own process, never in the API process', async () => {
    const job = await t.context.jobs.enqueue('test.pid', { v: 1 }, { workspaceId: ws });
    const done = await waitJob(t, job.id, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    const { pid } = done.result as { pid: number };
    expect(pid).not.toBe(process.pid);
    expect(pid).toBe(t.context.queue.supervisor!.status.pid);
    expect(t.context.queue.activeAttempts).toBe(0);
    // Its log lines reach the server's log, marked as the worker's.
    expect(t.logs.some((l) => l.process === 'worker' && l.msg === 'job workers started')).toBe(true);
  });

  it('ingests an upload, and its progress events and metrics reach the API', async () => {
    const client = await TestClient.open(wsUrl(t.url), { headers: t.auth });
    try {
      await client.request({ type: 'subscribe', topic: `workspace:${ws}`, id: 's1' });
      const form = new FormData();
      form.append('name', 'supervised-ingest');
      form.append('file', new Blob(['device,temp\na,1\nb,2\n']), 'readings.csv');
      const accepted = await t.fetch(`${t.api}/datasets`, { method: 'POST', body: form });
      expect(accepted.status).toBe(202);
      const { jobId } = (await accepted.json()) as { jobId: string };
      const ended = await client.next(
        'event',
        (m) =>
          m.event === 'job.state' &&
          (m.data as Job).id === jobId &&
          (m.data as Job).status !== 'queued' &&
          (m.data as Job).status !== 'running',
        20_000,
      );
      expect(ended.data).toMatchObject({ status: 'succeeded' });
      const { id } = (ended.data as Job<unknown, { id: string }>).result!;
      expect((await (await t.fetch(`${t.api}/datasets/${id}`)).json()) as { name: string }).toMatchObject({
        name: 'supervised-ingest',
      });
    } finally {
      client.close();
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    // Counted in the worker, reported by the API.
    expect(metrics).toMatch(/^weir_dataset_ingests_total\{[^}]*outcome="stored"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^weir_worker_up 1$/m);
  });

  it('hears a cancel at once, not at the next heartbeat', async () => {
    const job = await t.context.jobs.enqueue('test.sleep', { v: 1, ms: 30_000, steps: 300 }, { workspaceId: ws });
    await waitJob(t, job.id, ['running']);
    await eventually(
      async () => ((await t.context.jobs.get(ws, job.id)).progress > 0 ? true : undefined),
      'the attempt to report progress',
    );
    const asked = Date.now();
    expect((await t.fetch(`${t.api}/jobs/${job.id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect(await waitJob(t, job.id, ['cancelled', 'succeeded', 'failed'])).toMatchObject({ status: 'cancelled' });
    // The heartbeat (every 2 s with this lease) would take up to 2 s: the cancel crossed the IPC link.
    expect(Date.now() - asked).toBeLessThan(1500);
  });

  it('a job that allocates without bound costs its attempts, never the API, and is quarantined', async () => {
    const supervisor = t.context.queue.supervisor!;
    const exitsBefore = supervisor.status.exits.memory;
    const job = await t.context.jobs.enqueue('test.allocate', { v: 1, mibPerStep: 16 }, { workspaceId: ws });
    // The API answers throughout: every probe while the worker grows, is killed and restarts.
    let probes = 0;
    let finished: Job | undefined;
    while (!finished) {
      const live = await fetch(`${t.url}/health/live`);
      expect(live.status).toBe(200);
      probes++;
      const current = await t.context.jobs.get(ws, job.id);
      if (current.status === 'failed' || current.status === 'succeeded' || current.status === 'cancelled')
        finished = current;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(probes).toBeGreaterThan(5);
    expect(finished).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'worker_lost' } });
    expect(finished.error!.message).toContain('WEIR_WORKER_MEMORY_LIMIT');
    expect(finished.error!.message).toContain('runs again only when retried');
    expect(supervisor.status.exits.memory - exitsBefore).toBe(2);

    // The worker is back and runs the next job; the quarantined one stays failed.
    const next = await t.context.jobs.enqueue('test.pid', { v: 1 }, { workspaceId: ws });
    expect((await waitJob(t, next.id, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect(await t.context.jobs.get(ws, job.id)).toMatchObject({ status: 'failed', attempts: 2 });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`^weir_worker_exits_total\\{cause="memory"\\} ${supervisor.status.exits.memory}$`, 'm'),
    );

    // Retrying it is explicit and says what happened last time.
    const retry = await t.fetch(`${t.api}/jobs/${job.id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(200);
    const retried = (await retry.json()) as Job & { previousError: { code: string; message: string } };
    expect(retried).toMatchObject({ status: 'queued', attempts: 0, previousError: { code: 'worker_lost' } });
    expect(retried.previousError.message).toContain('WEIR_WORKER_MEMORY_LIMIT');
    await t.fetch(`${t.api}/jobs/${job.id}/cancel`, { method: 'POST' });
    await waitJob(t, job.id, ['cancelled', 'failed']);
  });
});

interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<void>;
}

const running: ServeProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
});

/** `weir serve` as users run it, on a data dir shared with this test's job harness. */
async function startServe(env: Record<string, string>): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { ...process.env, ...TEST_SERVER_ENV, ...env, WEIR_PORT: String(port), WEIR_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const p: ServeProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  running.push(p);
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`weir serve exited early:\n${out}`);
      return out.includes('job worker process ready') ? true : undefined;
    },
    `weir serve and its worker to be ready:\n${out}`,
    30_000,
  );
  return p;
}

/** Pids of the worker processes a server's log says it started. */
function workerPids(out: string): number[] {
  return out.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; pid?: number };
      return entry.msg === 'job worker process ready' && typeof entry.pid === 'number' ? [entry.pid] : [];
    } catch {
      return [];
    }
  });
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('weir serve', () => {
  it(
    'keeps answering while a job kills its worker; the quarantined job is not picked up again after a restart',
    { timeout: 120_000 },
    async () => {
      const db = await sharedDb('embedded');
      const h = await startJobHarness('embedded', [], { db, workers: false });
      try {
        const env = {
          ...db.env,
          WEIR_WORKER_MEMORY_LIMIT: '256MiB',
          WEIR_JOB_POLL_INTERVAL: '100ms',
          WEIR_SHUTDOWN_TIMEOUT_MS: '2000',
        };
        const first = await startServe(env);
        const marks = path.join(db.dataDir, 'allocate.log');
        const job = await h.enqueue('test.allocate', { v: 1, mibPerStep: 16, markFile: marks });
        let done: Job | undefined;
        while (!done) {
          expect((await fetch(`${first.url}/health/live`)).status).toBe(200);
          const current = await h.system.service.get(h.workspaceId, job.id);
          if (current.status === 'failed' || current.status === 'succeeded') done = current;
          else await new Promise((r) => setTimeout(r, 50));
        }
        expect(done).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'worker_lost' } });
        expect(first.child.exitCode).toBeNull();
        // Each attempt ran in a worker process of its own, none in the server.
        const attemptPids = (await readFile(marks, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => Number(l.split(' ')[3]));
        expect(attemptPids).toHaveLength(2);
        expect(attemptPids).not.toContain(first.child.pid);
        expect(new Set(attemptPids).size).toBe(2);

        first.child.kill('SIGTERM');
        await first.exited;
        expect(first.child.exitCode).toBe(0);
        const second = await startServe(env);
        // A job queued after the restart runs: the new worker has claimed what it would claim.
        const probe = await h.enqueue('test.pid', { v: 1 });
        expect(await h.waitFor(probe.id, ['succeeded', 'failed'], 30_000)).toMatchObject({ status: 'succeeded' });
        expect(await h.system.service.get(h.workspaceId, job.id)).toMatchObject({ status: 'failed', attempts: 2 });
        expect((await readFile(marks, 'utf8')).trim().split('\n')).toHaveLength(2);
        second.child.kill('SIGTERM');
        await second.exited;
      } finally {
        await h.close();
        await db.drop();
      }
    },
  );

  it('a SIGKILLed server leaves no worker process behind', { timeout: 60_000 }, async () => {
    const db = await sharedDb('embedded');
    try {
      const serve = await startServe(db.env);
      const [workerPid] = workerPids(serve.output());
      expect(workerPid).toBeGreaterThan(0);
      expect(isRunning(workerPid!)).toBe(true);
      serve.child.kill('SIGKILL');
      await serve.exited;
      await eventually(() => (isRunning(workerPid!) ? undefined : true), 'the orphaned worker to exit', 20_000);
    } finally {
      await db.drop();
    }
  });
});
