import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../src/jobs/types.js';
import type { StorageStats } from '../src/storage/service.js';
import { nextFireTime } from '../src/storage/scheduler.js';
import { createTestDatabase, pgAdminUrl, startTestApp, type TestApp } from './helpers/app.js';

/**
 * The sweep schedule runs in every process with workers and fires once per cluster: two app instances over one
 * metadata database, fed the same fire time (instead of waiting for the clock), enqueue exactly one sweep.
 */
let a: TestApp;
let b: TestApp;
let shared: { url: string; drop(): Promise<void> };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-storage-schedule-'));
  shared = pgAdminUrl
    ? await createTestDatabase(pgAdminUrl)
    : { url: `sqlite:${path.join(dir, 'shared.db')}`, drop: async () => {} };
  const env = { WEIR_DATABASE_URL: shared.url, WEIR_STORAGE_SWEEP_CRON: '17 3 * * *' };
  // One after the other: the first migrates the shared database.
  a = await startTestApp(env);
  b = await startTestApp(env);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await shared?.drop();
  await rm(dir, { recursive: true, force: true });
});

const sweepsAt = async (t: TestApp, scheduledFor: string) => {
  const jobs = await t.context.store.db
    .selectFrom('jobs')
    .select(['id', 'payload_json'])
    .where('kind', '=', 'storage.sweep')
    .execute();
  return jobs.filter((j) => (JSON.parse(j.payload_json) as { scheduledFor?: string }).scheduledFor === scheduledFor);
};

describe('the storage sweep schedule', () => {
  it('computes the next fire time in UTC', () => {
    expect(nextFireTime('17 3 * * *', new Date('2030-05-01T03:16:59.000Z'))?.toISOString()).toBe(
      '2030-05-01T03:17:00.000Z',
    );
    expect(nextFireTime('17 3 * * *', new Date('2030-05-01T03:17:00.000Z'))?.toISOString()).toBe(
      '2030-05-02T03:17:00.000Z',
    );
    expect(nextFireTime('17 * * * *', new Date('2030-05-01T23:59:00.000Z'))?.toISOString()).toBe(
      '2030-05-02T00:17:00.000Z',
    );
  });

  it('two instances firing the same time enqueue exactly one sweep', async () => {
    const at = new Date('2030-01-01T03:17:00.000Z');
    const fired = await Promise.all([
      a.context.storage.scheduler.fire(at),
      b.context.storage.scheduler.fire(at),
      a.context.storage.scheduler.fire(at),
    ]);
    const jobs = fired.filter((j): j is Job => j !== null);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      kind: 'storage.sweep',
      workspaceId: 'ws_system',
      payload: { v: 1, dryRun: false, scheduledFor: at.toISOString() },
    });
    expect(await sweepsAt(a, at.toISOString())).toHaveLength(1);

    // The sweep runs on whichever instance claims it and is recorded against its fire time.
    const id = jobs[0]!.id;
    let job = await a.context.storage.sweepJob(id);
    for (let i = 0; i < 300 && job.status !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = await a.context.storage.sweepJob(id);
    }
    expect(job.status).toBe('succeeded');
    for (const t of [a, b]) {
      const res = await t.fetch(`${t.api}/system/storage`);
      const stats = (await res.json()) as StorageStats;
      expect(stats.lastSweep).toMatchObject({
        scheduledFor: at.toISOString(),
        status: 'succeeded',
        dryRun: false,
        jobId: id,
        result: { scheduledFor: at.toISOString() },
      });
      expect(stats.retention.cron).toBe('17 3 * * *');
      expect(stats.retention.nextRun).toMatch(/T03:17:00\.000Z$/);
    }

    // The same fire time again (a late timer, a restarted process) enqueues nothing.
    expect(await Promise.all([a.context.storage.scheduler.fire(at), b.context.storage.scheduler.fire(at)])).toEqual([
      null,
      null,
    ]);
    expect(await sweepsAt(b, at.toISOString())).toHaveLength(1);
  });

  it('the next fire time is claimed anew, once', async () => {
    const at = new Date('2030-01-02T03:17:00.000Z');
    const fired = await Promise.all([b.context.storage.scheduler.fire(at), a.context.storage.scheduler.fire(at)]);
    expect(fired.filter((j) => j !== null)).toHaveLength(1);
    expect(await sweepsAt(a, at.toISOString())).toHaveLength(1);
    const rows = await a.context.store.db
      .selectFrom('storage_sweeps')
      .select(['scheduled_for', 'job_id'])
      .where('scheduled_for', 'is not', null)
      .execute();
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.job_id !== null)).toBe(true);
  });
});
