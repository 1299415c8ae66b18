import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/ids.js';
import type { Job } from '../src/jobs/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { problemOf } from './helpers/upload.js';

/** /api/v1/jobs over a real server, on SQLite or (WEIR_TEST_DATABASE_URL) PostgreSQL. */
let t: TestApp;
const WS = 'ws_default';

beforeAll(async () => {
  t = await startTestApp({
    WEIR_TEST_JOB_KINDS: '1',
    WEIR_SHUTDOWN_TIMEOUT_MS: '500',
    WEIR_JOB_RETENTION: '1s',
    WEIR_JOB_POLL_INTERVAL: '100ms',
  });
});
afterAll(async () => {
  await t?.close();
});

const json = async <T>(res: Response, status = 200): Promise<T> => {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
};
const getJob = (id: string) => t.fetch(`${t.api}/jobs/${id}`);
async function waitStatus(id: string, statuses: string[]): Promise<Job> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const job = await json<Job>(await getJob(id));
    if (statuses.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} stuck at ${job.status}`);
    await sleep(25);
  }
}

/** A job row written straight to the table (another workspace, fixed times): what the API must scope and count. */
async function insertRow(
  row: Partial<{
    id: string;
    workspace_id: string;
    kind: string;
    status: string;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    parent_id: string | null;
  }>,
) {
  const now = new Date().toISOString();
  const id = row.id ?? newId('job');
  await t.context.store.db
    .insertInto('jobs')
    .values({
      id,
      kind: row.kind ?? 'test.noop',
      workspace_id: row.workspace_id ?? WS,
      created_by: null,
      parent_id: row.parent_id ?? null,
      payload_json: '{"v":1}',
      status: row.status ?? 'succeeded',
      priority: 0,
      progress: 0,
      attempts: 1,
      max_attempts: 3,
      timeout_ms: 1000,
      cancel_requested: 0,
      run_after: row.created_at ?? now,
      created_at: row.created_at ?? now,
      started_at: row.started_at ?? null,
      finished_at: row.finished_at ?? null,
      updated_at: now,
    })
    .execute();
  return id;
}

describe('reading jobs', () => {
  it("answers 404 for an unknown job and for another workspace's job, 400 for a malformed id", async () => {
    const res = await getJob(newId('job'));
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('not_found');
    const foreign = await insertRow({ workspace_id: 'ws_elsewhere' });
    expect((await getJob(foreign)).status).toBe(404);
    expect((await t.fetch(`${t.api}/jobs/${foreign}/cancel`, { method: 'POST' })).status).toBe(404);
    const list = await json<{ items: Job[] }>(await t.fetch(`${t.api}/jobs?limit=500`));
    expect(list.items.map((j) => j.id)).not.toContain(foreign);
    expect((await getJob('job_nope')).status).toBe(400);
  });

  it('lists with filters (status, kind, parent, created window) and pagination with a total', async () => {
    const parent = await insertRow({ kind: 'x.parent', created_at: '2026-01-01T00:00:00.000Z' });
    const kids = [];
    for (let i = 0; i < 5; i++) {
      kids.push(
        await insertRow({
          kind: 'x.child',
          parent_id: parent,
          status: i % 2 ? 'failed' : 'succeeded',
          created_at: `2026-01-02T00:00:0${i}.000Z`,
        }),
      );
    }
    const page = await json<{ items: Job[]; total: number; limit: number; offset: number }>(
      await t.fetch(`${t.api}/jobs?parentId=${parent}&limit=2&offset=1`),
    );
    expect(page).toMatchObject({ total: 5, limit: 2, offset: 1 });
    expect(page.items.map((j) => j.id)).toEqual([kids[3], kids[2]]);
    const failed = await json<{ items: Job[]; total: number }>(
      await t.fetch(`${t.api}/jobs?kind=x.child&status=failed`),
    );
    expect(failed.items.map((j) => j.id).sort()).toEqual([kids[1], kids[3]].sort());
    const both = await json<{ total: number }>(
      await t.fetch(`${t.api}/jobs?kind=x.child&status=failed&status=succeeded`),
    );
    expect(both.total).toBe(5);
    const window = await json<{ items: Job[] }>(
      await t.fetch(
        `${t.api}/jobs?kind=x.child&createdAfter=2026-01-02T00:00:01.000Z&createdBefore=2026-01-02T00:00:03.000Z`,
      ),
    );
    expect(window.items.map((j) => j.id)).toEqual([kids[2], kids[1]]);
    const bad = await t.fetch(`${t.api}/jobs?status=lost`);
    expect(bad.status).toBe(400);
  });
});

describe('cancel and retry', () => {
  it('cancels a queued job, refuses to cancel it twice (409), retries it, and refuses to retry a running job (409)', async () => {
    const job = await t.context.jobs.enqueue(
      'test.sleep',
      { v: 1, ms: 5000, steps: 50 },
      { workspaceId: WS, runAfter: new Date(Date.now() + 60_000) },
    );
    const cancelled = await json<Job>(await t.fetch(`${t.api}/jobs/${job.id}/cancel`, { method: 'POST' }));
    expect(cancelled).toMatchObject({ id: job.id, status: 'cancelled' });
    const again = await t.fetch(`${t.api}/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe('job_not_cancellable');
    const retried = await json<Job>(await t.fetch(`${t.api}/jobs/${job.id}/retry`, { method: 'POST' }));
    expect(retried).toMatchObject({ status: 'queued', attempts: 0 });
    await waitStatus(job.id, ['running']);
    const notRetryable = await t.fetch(`${t.api}/jobs/${job.id}/retry`, { method: 'POST' });
    expect(notRetryable.status).toBe(409);
    expect((await problemOf(notRetryable)).code).toBe('job_not_retryable');
    expect((await json<Job>(await t.fetch(`${t.api}/jobs/${job.id}/cancel`, { method: 'POST' }))).cancelRequested).toBe(
      true,
    );
    expect(await waitStatus(job.id, ['cancelled', 'succeeded'])).toMatchObject({ status: 'cancelled' });
  });

  it('a succeeded job can be neither cancelled nor retried', async () => {
    const job = await t.context.jobs.enqueue('test.noop', { v: 1 }, { workspaceId: WS });
    expect(await waitStatus(job.id, ['succeeded'])).toMatchObject({ result: { ok: true }, attempts: 1 });
    expect((await t.fetch(`${t.api}/jobs/${job.id}/cancel`, { method: 'POST' })).status).toBe(409);
    expect((await t.fetch(`${t.api}/jobs/${job.id}/retry`, { method: 'POST' })).status).toBe(409);
  });
});

describe('POST /jobs/test (WEIR_TEST_JOB_KINDS only)', () => {
  it('enqueues a test kind in the caller workspace, checks its payload, and refuses other kinds', async () => {
    const post = (body: unknown) =>
      t.fetch(`${t.api}/jobs/test`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const job = await json<Job>(await post({ kind: 'test.noop', payload: { v: 1 } }), 202);
    expect(job).toMatchObject({ kind: 'test.noop', workspaceId: WS, status: 'queued' });
    expect(await waitStatus(job.id, ['succeeded'])).toMatchObject({ result: { ok: true } });
    expect((await post({ kind: 'test.noop', payload: { v: 2 } })).status).toBe(400);
    expect((await post({ kind: 'ingest', payload: {} })).status).toBe(400);
  });
});

describe('stats', () => {
  it('counts, success rate, percentiles and the zero-filled daily series are exact', async () => {
    const ws = `ws_stats${Date.now()}`;
    const day = (offset: number, time: string) =>
      new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() - offset))
        .toISOString()
        .slice(0, 10) + time;
    // Today: 3 succeeded (1 s, 2 s, 10 s), 1 failed (4 s), 1 queued; two days ago: 1 succeeded (3 s); 10 days ago: outside a 7-day window.
    const finished = (status: string, offset: number, seconds: number, kind = 'k.a') =>
      insertRow({
        workspace_id: ws,
        kind,
        status,
        created_at: day(offset, 'T00:00:00.000Z'),
        started_at: day(offset, 'T00:00:00.000Z'),
        finished_at: day(offset, `T00:00:${String(seconds).padStart(2, '0')}.000Z`),
      });
    await finished('succeeded', 0, 1);
    await finished('succeeded', 0, 2);
    await finished('succeeded', 0, 10, 'k.b');
    await finished('failed', 0, 4, 'k.b');
    await insertRow({ workspace_id: ws, kind: 'k.a', status: 'queued', created_at: day(0, 'T00:00:00.000Z') });
    await finished('succeeded', 2, 3);
    await finished('failed', 10, 5);
    const stats = await t.context.jobs.stats(ws, 7);
    expect(stats.total).toBe(6);
    expect(stats.byStatus).toEqual({ queued: 1, running: 0, succeeded: 4, failed: 1, cancelled: 0 });
    expect(stats.byKind).toEqual([
      { kind: 'k.a', total: 4, byStatus: { queued: 1, running: 0, succeeded: 3, failed: 0, cancelled: 0 } },
      { kind: 'k.b', total: 2, byStatus: { queued: 0, running: 0, succeeded: 1, failed: 1, cancelled: 0 } },
    ]);
    expect(stats.successRate).toBe(0.8);
    // Durations 1, 2, 3, 4, 10 s: nearest-rank p50 = 3 s, p95 = 10 s.
    expect(stats.durationMs).toEqual({ p50: 3000, p95: 10_000, count: 5 });
    expect(stats.daily).toHaveLength(7);
    expect(stats.daily.at(-1)).toEqual({ date: day(0, ''), created: 5, succeeded: 3, failed: 1 });
    expect(stats.daily.at(-3)).toEqual({ date: day(2, ''), created: 1, succeeded: 1, failed: 0 });
    expect(stats.daily.filter((d) => d.created === 0)).toHaveLength(5);
    expect(stats.since).toBe(day(6, 'T00:00:00.000Z'));
  });

  it("GET /jobs/stats answers for the caller's workspace", async () => {
    const res = await json<{ days: number; daily: unknown[]; byStatus: Record<string, number> }>(
      await t.fetch(`${t.api}/jobs/stats?days=3`),
    );
    expect(res.days).toBe(3);
    expect(res.daily).toHaveLength(3);
    expect(Object.keys(res.byStatus).sort()).toEqual(['cancelled', 'failed', 'queued', 'running', 'succeeded']);
    expect((await t.fetch(`${t.api}/jobs/stats?days=0`)).status).toBe(400);
  });
});

describe('retention', () => {
  it('the sweep deletes finished jobs past the retention with their artifacts, and keeps the rest', async () => {
    const uploadKey = `uploads/${WS}/${newId('up')}`;
    const local = path.join(t.dataDir, 'upload.csv');
    await writeFile(local, 'a,b\n1,2\n');
    await t.context.blobs.putFile(uploadKey, local);
    expect(await t.context.blobs.stat(uploadKey)).not.toBeNull();
    const payload = {
      v: 1,
      uploadKey,
      filename: 'x.csv',
      bytes: 8,
      sha256: 'a'.repeat(64),
      firstNul: -1,
      versionId: newId('dv'),
      newDatasetId: newId('ds'),
    };
    const old = await t.context.jobs.enqueue('ingest', payload, {
      workspaceId: WS,
      runAfter: new Date(Date.now() + 3_600_000),
    });
    await t.context.jobs.cancel(WS, old.id);
    const pending = await t.context.jobs.enqueue(
      'test.noop',
      { v: 1 },
      { workspaceId: WS, runAfter: new Date(Date.now() + 3_600_000) },
    );
    await sleep(1200);
    const recent = await t.context.jobs.enqueue('test.noop', { v: 1 }, { workspaceId: WS });
    await waitStatus(recent.id, ['succeeded']);
    const sweep = await t.context.jobs.enqueue('jobs.sweep', { v: 1 }, { workspaceId: 'ws_system' });
    const deadline = Date.now() + 10_000;
    let swept = await t.context.jobs.get('ws_system', sweep.id);
    while (swept.status !== 'succeeded' && Date.now() < deadline) {
      await sleep(25);
      swept = await t.context.jobs.get('ws_system', sweep.id);
    }
    expect(swept.status).toBe('succeeded');
    expect((swept.result as { deleted: number; artifacts: number }).artifacts).toBeGreaterThanOrEqual(1);
    expect((await getJob(old.id)).status).toBe(404);
    expect((await getJob(recent.id)).status).toBe(200);
    expect((await getJob(pending.id)).status).toBe(200);
    expect(await t.context.blobs.stat(uploadKey)).toBeNull();
  });
});

describe('system', () => {
  it('readiness checks the queue and info names the driver', async () => {
    const ready = await json<{ checks: Record<string, { ok: boolean }> }>(await fetch(`${t.url}/health/ready`));
    expect(ready.checks.queue).toMatchObject({ ok: true });
    const info = await json<{ drivers: { queue: string } }>(await t.fetch(`${t.api}/system/info`));
    expect(info.drivers.queue).toBe('embedded');
  });
});
