import { randomBytes } from 'node:crypto';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/ids.js';
import type { Job } from '../src/jobs/types.js';
import type { StorageStats } from '../src/storage/service.js';
import type { SweepResult } from '../src/storage/sweep.js';
import { blobsUnderTest, startTestApp, type TestApp } from './helpers/app.js';
import { actor, eventually, workspace, type Actor } from './helpers/identity.js';
import { problemOf, upload } from './helpers/upload.js';

/**
 * Storage statistics and retention sweeps through the HTTP API of a real server: what is counted, what each rule
 * deletes and keeps, dry runs, the sweep record, keep-last-N, and who may do any of it. Objects are aged by setting
 * their files' modification times, which only the local driver allows: with WEIR_TEST_BLOBS=s3 every object is
 * young, and the rules that do not go by age (expiry, job artifacts, keep-last-N) are what is checked.
 */
let t: TestApp;
let owner: Actor;
const H = 3_600_000;
const DAY = 24 * H;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  // A schedule that does not fire while the tests run: sweeps here are started by hand.
  t = await startTestApp({ WEIR_STORAGE_SWEEP_CRON: '0 0 1 1 *' });
  owner = await actor(t, 'owner');
});
afterAll(async () => {
  await t?.close();
});

/** Whether objects can be aged here (see above). */
const canAge = blobsUnderTest === 'local';

/** Stores `bytes` random bytes under `key`, last modified `ageMs` ago where objects can be aged. */
async function put(key: string, bytes: number, ageMs = 0): Promise<void> {
  const file = t.context.scratch.file();
  await writeFile(file, randomBytes(bytes));
  await t.context.blobs.putFile(key, file);
  if (ageMs > 0) await age(key, ageMs);
}

async function age(key: string, ageMs: number): Promise<void> {
  if (!canAge || t.config.blobs.driver !== 'local') return;
  const when = new Date(Date.now() - ageMs);
  await utimes(path.join(t.config.blobs.root, ...key.split('/')), when, when);
}

const exists = async (key: string) => (await t.context.blobs.stat(key)) !== null;

async function stats(fresh = true): Promise<StorageStats> {
  const res = await t.fetch(`${t.api}/system/storage${fresh ? '?fresh=true' : ''}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as StorageStats;
}

async function sweep(dryRun: boolean): Promise<SweepResult> {
  const res = await t.fetch(`${t.api}/system/storage/sweep?wait=true`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ dryRun }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const job = (await res.json()) as Job<unknown, SweepResult>;
  expect(job).toMatchObject({ kind: 'storage.sweep', status: 'succeeded', workspaceId: 'ws_system' });
  return job.result!;
}

async function csvDataset(content: string, headers = t.auth): Promise<{ id: string; versionId: string }> {
  const res = await upload({ api: t.api, auth: headers }, content, { filename: 'd.csv' });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { id: string; version: { id: string } };
  return { id: body.id, versionId: body.version.id };
}

/** A regression model trained through the API, and where its one version's artifact is stored. */
async function trainedModel(): Promise<{ modelId: string; artifactKey: string }> {
  const data = await csvDataset('x,y\n1,2\n2,4\n3,6\n4,8\n5,10\n6,12\n7,14\n8,16\n9,18\n10,20\n');
  const res = await t.fetch(`${t.api}/models`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ name: `kept-${newId('mdl')}`, datasetId: data.id, task: 'regression', target: 'y' }),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const { model, job } = (await res.json()) as { model: { id: string }; job: Job };
  const done = await eventually(
    () => t.fetch(`${t.api}/jobs/${job.id}`).then((r) => r.json() as Promise<Job>),
    (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    30_000,
  );
  expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  const row = await t.context.store.db
    .selectFrom('model_versions')
    .select('artifact_key')
    .where('model_id', '=', model.id)
    .executeTakeFirstOrThrow();
  return { modelId: model.id, artifactKey: row.artifact_key };
}

/** An ingest job naming `uploadKey` as its artifact, left queued until tomorrow or marked finished at `finishedAt`. */
async function ingestJobFor(uploadKey: string, finishedAt?: Date): Promise<string> {
  const job = await t.context.jobs.enqueue(
    'ingest',
    {
      v: 1,
      uploadKey,
      filename: 'x.csv',
      bytes: 1,
      sha256: randomBytes(32).toString('hex'),
      firstNul: -1,
      versionId: newId('dv'),
      newDatasetId: newId('ds'),
    },
    { workspaceId: 'ws_default', runAfter: new Date(Date.now() + DAY) },
  );
  if (finishedAt) {
    await t.context.store.db
      .updateTable('jobs')
      .set({
        status: 'failed',
        finished_at: finishedAt.toISOString(),
        error_code: 'internal',
        error_message: 'failed in a test',
        updated_at: finishedAt.toISOString(),
      })
      .where('id', '=', job.id)
      .execute();
  }
  return job.id;
}

/** A resumable-upload row (as the tus domain writes them) whose bytes live under `uploads/<ws>/<id>/`. */
async function uploadRow(status: string, expiresAt: Date | null): Promise<string> {
  const id = newId('up');
  const now = new Date().toISOString();
  await t.context.store.db
    .insertInto('uploads')
    .values({
      id,
      workspace_id: 'ws_default',
      created_by: null,
      status,
      length: 100,
      offset: status === 'uploading' ? 50 : 100,
      concat: null,
      parts_json: null,
      metadata_json: '{}',
      filename: 'x.csv',
      dataset_id: null,
      version_id: null,
      job_id: null,
      error_code: null,
      error_message: null,
      error_details_json: null,
      lock_owner: null,
      lock_until: null,
      expires_at: expiresAt?.toISOString() ?? null,
      created_at: now,
      updated_at: now,
      finished_at: null,
    })
    .execute();
  return id;
}

const uploadStatus = async (id: string) =>
  (await t.context.store.db.selectFrom('uploads').select('status').where('id', '=', id).executeTakeFirstOrThrow())
    .status;

describe('GET /api/v1/system/storage', () => {
  it('counts objects and bytes per area and workspace as stored', async () => {
    const other = await workspace(t, 'Storage stats');
    await csvDataset(`a,b\n1,${randomBytes(6).toString('hex')}\n`);
    await csvDataset(`a,b\n2,${randomBytes(6).toString('hex')}\n`);
    await csvDataset(`x\n${randomBytes(6).toString('hex')}\n`, { ...t.auth, 'x-weir-workspace': other });
    await put(`cache/${other}/c1.bin`, 1000, 2 * H);
    await put(`cache/${other}/sub/c2.bin`, 24);
    await put('logs/ws_default/l1.log', 7);

    const s = await stats();
    expect(s.driver).toBe(blobsUnderTest);
    const versions = await t.context.store.db
      .selectFrom('dataset_versions')
      .select(['workspace_id', 'parquet_bytes'])
      .execute();
    const datasets = s.areas.find((a) => a.area === 'datasets')!;
    for (const ws of ['ws_default', other]) {
      const mine = versions.filter((v) => v.workspace_id === ws);
      const row = datasets.workspaces.find((w) => w.workspaceId === ws);
      expect(row, ws).toMatchObject({
        objects: mine.length,
        bytes: mine.reduce((n, v) => n + Number(v.parquet_bytes), 0),
      });
    }
    expect(datasets.objects).toBe(versions.length);
    const cache = s.areas.find((a) => a.area === 'cache')!;
    expect(cache).toMatchObject({
      objects: 2,
      bytes: 1024,
      workspaces: [{ workspaceId: other, objects: 2, bytes: 1024 }],
    });
    // The oldest object is the one aged two hours (to the second: file systems keep what utimes was given).
    expect(Math.abs(Date.parse(cache.oldest!) - (Date.now() - (canAge ? 2 * H : 0)))).toBeLessThan(60_000);
    expect(s.areas.find((a) => a.area === 'logs')).toMatchObject({ objects: 1, bytes: 7 });
    expect(s.areas.find((a) => a.area === 'models')).toMatchObject({
      objects: 0,
      bytes: 0,
      oldest: null,
      workspaces: [],
    });
    expect(s.areas.map((a) => a.area).sort()).toEqual(['cache', 'datasets', 'exports', 'logs', 'models', 'uploads']);
    expect(s.totals.objects).toBe(s.areas.reduce((n, a) => n + a.objects, 0));
    expect(s.totals.bytes).toBe(s.areas.reduce((n, a) => n + a.bytes, 0));
    if (blobsUnderTest === 's3') expect(s.disk).toBeNull();
    else {
      expect(s.disk!.totalBytes).toBeGreaterThan(0);
      expect(s.disk!.freeBytes).toBeGreaterThan(0);
      expect(s.disk!.freeBytes).toBeLessThanOrEqual(s.disk!.totalBytes);
    }
    expect(s.retention).toMatchObject({
      areas: { tmp: H, uploads: DAY, exports: 3 * DAY, cache: 7 * DAY, logs: 7 * DAY, datasets: null, models: null },
      jobArtifactsMs: 3 * DAY,
      cron: '0 0 1 1 *',
      timezone: 'UTC',
    });
    expect(s.retention.nextRun).toMatch(/^\d{4}-01-01T00:00:00\.000Z$/);
  });

  it('reuses a walk for a while unless asked for a fresh one', async () => {
    const first = await stats(true);
    await put('logs/ws_default/l2.log', 5);
    const cached = await stats(false);
    expect(cached.walkedAt).toBe(first.walkedAt);
    expect(cached.totals.objects).toBe(first.totals.objects);
    const fresh = await stats(true);
    expect(fresh.totals.objects).toBe(first.totals.objects + 1);
  });
});

describe('storage sweep', () => {
  const keys: Record<string, string> = {};
  const rows: Record<string, string> = {};
  let kept: { id: string; versions: string[] };

  beforeAll(async () => {
    // By age: old objects of each aged area go, young ones and datasets/models stay.
    keys.oldCache = 'cache/ws_default/old.bin';
    keys.youngCache = 'cache/ws_default/young.bin';
    keys.oldExport = 'exports/ws_default/exp/old.csv';
    keys.youngExport = 'exports/ws_default/exp/young.csv';
    keys.oldLog = 'logs/ws_default/old.log';
    await put(keys.oldCache, 100, 8 * DAY);
    await put(keys.youngCache, 100, 6 * DAY);
    await put(keys.oldExport, 200, 3 * DAY + H);
    await put(keys.youngExport, 200, 3 * DAY - H);
    await put(keys.oldLog, 300, 8 * DAY);

    // Models: a version's artifact is kept however old; a file no version refers to goes once a day old (a
    // training killed between storing its artifact and registering it leaves one).
    const model = await trainedModel();
    keys.registeredModel = model.artifactKey;
    await age(keys.registeredModel, 400 * DAY);
    keys.orphanModel = `models/ws_default/${model.modelId}/${newId('mv')}.json`;
    keys.youngOrphanModel = `models/ws_default/${model.modelId}/${newId('mv')}.json`;
    await put(keys.orphanModel, 400, DAY + H);
    await put(keys.youngOrphanModel, 450, DAY - H);

    // Uploads: unreferenced old ones go; those a job names or a live upload owns stay.
    keys.orphanUpload = `uploads/ws_default/${newId('up')}`;
    keys.queuedUpload = `uploads/ws_default/${newId('up')}`;
    await put(keys.orphanUpload, 500, 2 * DAY);
    await put(keys.queuedUpload, 600, 2 * DAY);
    await ingestJobFor(keys.queuedUpload);
    rows.live = await uploadRow('uploading', new Date(Date.now() + DAY));
    rows.expired = await uploadRow('uploading', new Date(Date.now() - H));
    rows.ingesting = await uploadRow('ingesting', null);
    rows.done = await uploadRow('done', null);
    keys.live = `uploads/ws_default/${rows.live}/data`;
    keys.expired = `uploads/ws_default/${rows.expired}/data`;
    keys.ingesting = `uploads/ws_default/${rows.ingesting}/data`;
    keys.done = `uploads/ws_default/${rows.done}/data`;
    await put(keys.live, 700, 2 * DAY);
    // An expired upload's bytes go at once, however young.
    await put(keys.expired, 800);
    await put(keys.ingesting, 900, 2 * DAY);
    await put(keys.done, 1000, 2 * DAY);

    // Job artifacts: a job finished past WEIR_RETENTION_JOB_ARTIFACTS loses its artifact (young as it is); a job that
    // finished recently keeps its (old) one.
    keys.staleArtifact = `uploads/ws_default/${newId('up')}`;
    keys.recentArtifact = `uploads/ws_default/${newId('up')}`;
    await put(keys.staleArtifact, 1100);
    await put(keys.recentArtifact, 1200, 2 * DAY);
    await ingestJobFor(keys.staleArtifact, new Date(Date.now() - 4 * DAY));
    await ingestJobFor(keys.recentArtifact, new Date(Date.now() - H));

    // Keep-last-N: three versions, keep one.
    const first = await csvDataset(`v\n1-${randomBytes(4).toString('hex')}\n`);
    const versions = [first.versionId];
    for (let i = 2; i <= 3; i++) {
      const res = await upload(t, `v\n${i}-${randomBytes(4).toString('hex')}\n`, {
        path: `/datasets/${first.id}/versions`,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      versions.push(((await res.json()) as { version: { id: string } }).version.id);
    }
    kept = { id: first.id, versions };
    // An ancient dataset file is never aged out.
    await age(`datasets/ws_default/${first.id}/${versions[0]}.parquet`, 400 * DAY);
    const patched = await t.fetch(`${t.api}/datasets/${first.id}`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ keepVersions: 1 }),
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    expect(await patched.json()).toMatchObject({ keepVersions: 1, versionCount: 3 });

    // Scratch space of this process: an old file goes, a young one stays.
    keys.oldScratch = t.context.scratch.file('.old');
    keys.youngScratch = t.context.scratch.file('.young');
    await writeFile(keys.oldScratch, randomBytes(50));
    await writeFile(keys.youngScratch, randomBytes(60));
    const when = new Date(Date.now() - 2 * H);
    await utimes(keys.oldScratch, when, when);
  });

  let dry: SweepResult;
  // Deleted by age only where objects can be aged; by expiry and as job artifacts everywhere.
  const byAge = ['oldCache', 'oldExport', 'oldLog', 'orphanUpload', 'done', 'orphanModel'];
  const doomedBlobs = ['expired', 'staleArtifact', ...(canAge ? byAge : [])];
  const keptBlobs = [
    'youngCache',
    'youngExport',
    'registeredModel',
    'youngOrphanModel',
    'queuedUpload',
    'live',
    'ingesting',
    'recentArtifact',
    ...(canAge ? [] : byAge),
  ];
  const aged = (objects: number, bytes: number) => (canAge ? { objects, bytes } : { objects: 0, bytes: 0 });
  const versionBytes = async (ids: string[]) =>
    (
      await t.context.store.db.selectFrom('dataset_versions').select('parquet_bytes').where('id', 'in', ids).execute()
    ).reduce((n, r) => n + Number(r.parquet_bytes), 0);

  it('a dry run reports what would go and deletes nothing', async () => {
    const oldVersionBytes = await versionBytes(kept.versions.slice(0, 2));
    dry = await sweep(true);
    expect(dry.dryRun).toBe(true);
    expect(dry.areas.cache).toEqual(aged(1, 100));
    expect(dry.areas.exports).toEqual(aged(1, 200));
    expect(dry.areas.logs).toEqual(aged(1, 300));
    expect(dry.areas.models).toEqual(aged(1, 400));
    expect(dry.orphans).toEqual(aged(1, 400));
    expect(dry.areas.uploads).toEqual(
      canAge ? { objects: 4, bytes: 500 + 800 + 1000 + 1100 } : { objects: 2, bytes: 800 + 1100 },
    );
    expect(dry.areas.datasets).toEqual({ objects: 2, bytes: oldVersionBytes });
    expect(dry.areas.tmp).toEqual({ objects: 1, bytes: 50 });
    expect(dry.expiredUploads).toEqual({ uploads: 1, objects: 1, bytes: 800 });
    expect(dry.prunedVersions).toEqual({ versions: 2, datasets: 1, objects: 2, bytes: oldVersionBytes });
    expect(dry.jobArtifacts).toMatchObject({ jobs: 1, objects: 1, bytes: 1100, since: null });
    expect(dry.total.objects).toBe(Object.values(dry.areas).reduce((n, a) => n + a.objects, 0));
    expect(dry.total.bytes).toBe(Object.values(dry.areas).reduce((n, a) => n + a.bytes, 0));

    for (const k of [...doomedBlobs, ...keptBlobs]) expect(await exists(keys[k]!), k).toBe(true);
    expect(await uploadStatus(rows.expired!)).toBe('uploading');
    const versions = (await (await t.fetch(`${t.api}/datasets/${kept.id}/versions`)).json()) as { items: unknown[] };
    expect(versions.items).toHaveLength(3);
    const last = (await stats()).lastSweep!;
    expect(last).toMatchObject({ status: 'succeeded', dryRun: true, scheduledFor: null, result: { total: dry.total } });
  });

  it('a real sweep deletes exactly what the dry run reported', async () => {
    const real = await sweep(false);
    expect(real.dryRun).toBe(false);
    for (const part of ['areas', 'total', 'expiredUploads', 'prunedVersions', 'orphans'] as const)
      expect(real[part], part).toEqual(dry[part]);
    expect(real.jobArtifacts).toMatchObject({ jobs: 1, objects: 1, bytes: 1100, since: null });

    for (const k of doomedBlobs) expect(await exists(keys[k]!), k).toBe(false);
    for (const k of keptBlobs) expect(await exists(keys[k]!), k).toBe(true);
    expect(await uploadStatus(rows.expired!)).toBe('expired');
    expect(await uploadStatus(rows.live!)).toBe('uploading');
    expect(await uploadStatus(rows.ingesting!)).toBe('ingesting');

    // Keep-last-N kept the newest version, which still reads; the older ones' rows and files are gone.
    const versions = (await (await t.fetch(`${t.api}/datasets/${kept.id}/versions`)).json()) as {
      items: { id: string; number: number }[];
    };
    expect(versions.items.map((v) => v.id)).toEqual([kept.versions[2]]);
    expect(versions.items[0]!.number).toBe(3);
    for (const v of kept.versions.slice(0, 2))
      expect(await exists(`datasets/ws_default/${kept.id}/${v}.parquet`)).toBe(false);
    expect(await exists(`datasets/ws_default/${kept.id}/${kept.versions[2]}.parquet`)).toBe(true);
    const preview = await t.fetch(`${t.api}/datasets/${kept.id}/preview`);
    expect(preview.status).toBe(200);
    expect(((await preview.json()) as { versionId: string }).versionId).toBe(kept.versions[2]);

    await expect(import('node:fs/promises').then((fs) => fs.stat(keys.oldScratch!))).rejects.toThrow();
    await expect(import('node:fs/promises').then((fs) => fs.stat(keys.youngScratch!))).resolves.toBeTruthy();

    const s = await stats(false);
    expect(s.lastSweep).toMatchObject({
      status: 'succeeded',
      dryRun: false,
      result: { total: real.total, jobArtifacts: { until: real.jobArtifacts.until } },
    });
    expect(s.lastSweep!.finishedAt).not.toBeNull();
    // The finished sweep invalidated the cached walk: the deleted objects are no longer counted.
    expect(
      s.areas.find((a) => a.area === 'cache')!.workspaces.find((w) => w.workspaceId === 'ws_default'),
    ).toMatchObject(canAge ? { objects: 1, bytes: 100 } : { objects: 2, bytes: 200 });
  });

  it('handles each finished job once: the next sweep starts where the last one stopped', async () => {
    // The artifact is back (say, restored by hand): its job is behind the watermark and still exists, so it stays.
    await put(keys.staleArtifact!, 1100);
    const again = await sweep(false);
    expect(again.total).toEqual({ objects: 0, bytes: 0 });
    expect(again.jobArtifacts.jobs).toBe(0);
    expect(again.jobArtifacts.since).not.toBeNull();
    expect(await exists(keys.staleArtifact!)).toBe(true);
  });

  it.runIf(canAge)('two sweeps at once are safe and leave the same store', async () => {
    await put('cache/ws_default/twice-1.bin', 10, 8 * DAY);
    await put('cache/ws_default/twice-2.bin', 10, 8 * DAY);
    const [a, b] = await Promise.all([sweep(false), sweep(false)]);
    expect(a.areas.cache.objects + b.areas.cache.objects).toBeGreaterThanOrEqual(2);
    expect(await exists('cache/ws_default/twice-1.bin')).toBe(false);
    expect(await exists('cache/ws_default/twice-2.bin')).toBe(false);
  });

  it('answers 202 with the job without ?wait, and the job can be followed', async () => {
    const res = await t.fetch(`${t.api}/system/storage/sweep`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ dryRun: true }),
    });
    expect(res.status).toBe(202);
    const job = (await res.json()) as Job;
    expect(job).toMatchObject({ kind: 'storage.sweep', payload: { v: 1, dryRun: true } });
    expect(res.headers.get('location')).toBe(`/api/v1/system/storage/sweeps/${job.id}`);
    let followed: Job | undefined;
    for (let i = 0; i < 200 && followed?.status !== 'succeeded'; i++) {
      followed = (await (await t.fetch(`${t.api}/system/storage/sweeps/${job.id}`)).json()) as Job;
      if (followed.status !== 'succeeded') await new Promise((r) => setTimeout(r, 50));
    }
    expect(followed).toMatchObject({ id: job.id, status: 'succeeded', progress: 100, result: { dryRun: true } });
    // A body is optional: no body is a real sweep.
    const bare = await t.fetch(`${t.api}/system/storage/sweep`, { method: 'POST' });
    expect(bare.status, await bare.clone().text()).toBe(202);
    expect(((await bare.json()) as Job).payload).toEqual({ v: 1, dryRun: false });
  });
});

describe('keepVersions on datasets', () => {
  it('is shown, set and cleared; bad values are 400 problems', async () => {
    const ds = await csvDataset(`k\n${randomBytes(6).toString('hex')}\n`);
    const get = async () =>
      (await (await t.fetch(`${t.api}/datasets/${ds.id}`)).json()) as { keepVersions: number | null };
    expect((await get()).keepVersions).toBeNull();
    const patch = (body: unknown) =>
      t.fetch(`${t.api}/datasets/${ds.id}`, { method: 'PATCH', headers: json, body: JSON.stringify(body) });
    expect((await patch({ keepVersions: 5 })).status).toBe(200);
    expect((await get()).keepVersions).toBe(5);
    const listed = (await (await t.fetch(`${t.api}/datasets?limit=500`)).json()) as {
      items: { id: string; keepVersions: number | null }[];
    };
    expect(listed.items.find((d) => d.id === ds.id)?.keepVersions).toBe(5);
    for (const bad of [0, -1, 1.5, '2', true]) {
      const res = await patch({ keepVersions: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      const p = await problemOf(res);
      expect(
        p.errors.some((e) => e.pointer.includes('keepVersions')),
        JSON.stringify(p),
      ).toBe(true);
    }
    const cleared = await patch({ keepVersions: null });
    expect(cleared.status).toBe(200);
    expect(((await cleared.json()) as { keepVersions: null }).keepVersions).toBeNull();
  });
});

describe('access and input', () => {
  it('is for instance administrators only', async () => {
    for (const [method, url] of [
      ['GET', '/system/storage'],
      ['POST', '/system/storage/sweep'],
      ['GET', `/system/storage/sweeps/${newId('job')}`],
    ] as const) {
      const res = await fetch(`${t.api}${url}`, {
        method,
        headers: { ...owner.headers, ...(method === 'POST' ? json : {}) },
        body: method === 'POST' ? '{}' : undefined,
      });
      expect(res.status, url).toBe(403);
      expect((await problemOf(res)).code).toBe('forbidden');
    }
  });

  it('refuses bad input with 400 problems', async () => {
    const post = (body: string, query = '') =>
      t.fetch(`${t.api}/system/storage/sweep${query}`, { method: 'POST', headers: json, body });
    for (const body of ['{"dryRun":"yes"}', '{"dryRun":true,"extra":1}', '[]']) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      await problemOf(res);
    }
    const badQuery = await post('{}', '?wait=maybe');
    expect(badQuery.status).toBe(400);
    const badFresh = await t.fetch(`${t.api}/system/storage?fresh=perhaps`);
    expect(badFresh.status).toBe(400);
    await problemOf(badFresh);
    const badId = await t.fetch(`${t.api}/system/storage/sweeps/not-an-id`);
    expect(badId.status).toBe(400);
    const missing = await t.fetch(`${t.api}/system/storage/sweeps/${newId('job')}`);
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).code).toBe('not_found');
  });

  it('a job of another kind is not a sweep', async () => {
    const ingest = await t.context.jobs.list({ workspaceId: 'ws_default', kind: 'ingest', limit: 1, offset: 0 });
    const id = ingest.items[0]!.id;
    const res = await t.fetch(`${t.api}/system/storage/sweeps/${id}`);
    expect(res.status).toBe(404);
  });
});
