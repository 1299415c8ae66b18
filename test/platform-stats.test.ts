import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, eventually, workspace } from './helpers/identity.js';
import { problemOf, upload } from './helpers/upload.js';

interface Stored {
  datasetId: string;
  workspaceId: string;
  name: string;
  format: string;
  rows: number;
  parquetBytes: number;
  sourceBytes: number;
}
interface Totals {
  datasets: number;
  versions: number;
  rows: number;
  parquetBytes: number;
  sourceBytes: number;
}
interface JobCounts {
  total: number;
  byStatus: Record<string, number>;
  successRate: number | null;
}
interface Stats {
  days: number;
  since: string;
  totals: Totals;
  byFormat: (Totals & { format: string })[];
  byWorkspace: (Totals & { workspaceId: string; name: string })[];
  jobs: JobCounts & { byKind: (JobCounts & { kind: string })[] };
  daily: {
    date: string;
    versions: number;
    rows: number;
    parquetBytes: number;
    sourceBytes: number;
    jobsFinished: number;
    jobsFailed: number;
  }[];
  largestDatasets: {
    id: string;
    name: string;
    workspaceId: string;
    workspaceName: string;
    versions: number;
    rows: number;
    parquetBytes: number;
    sourceBytes: number;
  }[];
}

let t: TestApp;
let second: string;
/** Every version stored, as its upload answered it. */
const stored: Stored[] = [];

type Version = {
  datasetId: string;
  workspaceId: string;
  sourceFormat: string;
  rowCount: number;
  parquetBytes: number;
  sourceBytes: number;
};
const record = (name: string, v: Version) =>
  stored.push({
    datasetId: v.datasetId,
    workspaceId: v.workspaceId,
    name,
    format: v.sourceFormat,
    rows: v.rowCount,
    parquetBytes: v.parquetBytes,
    sourceBytes: v.sourceBytes,
  });

async function put(
  name: string,
  content: string,
  filename: string,
  opts: { workspaceId?: string; datasetId?: string } = {},
): Promise<string> {
  const auth = opts.workspaceId ? { ...t.auth, 'x-weir-workspace': opts.workspaceId } : t.auth;
  const res = await upload(
    { api: t.api, auth },
    content,
    opts.datasetId ? { filename, path: `/datasets/${opts.datasetId}/versions` } : { filename, name },
  );
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { id: string; version: Version };
  record(name, body.version);
  return body.id;
}

/** An upload without ?wait: its ingest job runs and finishes (succeeded or failed). */
async function ingestJob(
  content: string,
  name: string,
): Promise<{ status: string; result: { version: Version } | null }> {
  const form = new FormData();
  form.append('name', name);
  form.append('file', new Blob([content]), `${name}.csv`);
  const res = await t.fetch(`${t.api}/datasets`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  const { jobId } = (await res.json()) as { jobId: string };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const job = (await (await t.fetch(`${t.api}/jobs/${jobId}`)).json()) as {
      status: string;
      result: { version: Version } | null;
    };
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${job.status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sum = (items: Stored[], key: 'rows' | 'parquetBytes' | 'sourceBytes') => items.reduce((a, s) => a + s[key], 0);
function totalsOf(items: Stored[]): Totals {
  return {
    datasets: new Set(items.map((s) => s.datasetId)).size,
    versions: items.length,
    rows: sum(items, 'rows'),
    parquetBytes: sum(items, 'parquetBytes'),
    sourceBytes: sum(items, 'sourceBytes'),
  };
}

async function stats(query = ''): Promise<Stats> {
  const res = await t.fetch(`${t.api}/system/stats${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Stats;
}

beforeAll(async () => {
  // No scheduled storage sweep during the test: its job would be counted.
  t = await startTestApp({ WEIR_STORAGE_SWEEP_CRON: '0 0 1 1 *' });
  second = await workspace(t, 'Second');
  const one = await put('one', 'a,b\n1,2\n3,4\n', 'one.csv');
  await put('one', 'a,b\n1,2\n3,4\n5,6\n', 'one-v2.csv', { datasetId: one });
  await put('two', '{"x":1}\n{"x":2}\n{"x":3}\n{"x":4}\n', 'two.ndjson');
  await put('three', 'k\n1\n2\n3\n4\n5\n', 'three.csv', { workspaceId: second });
  const done = await ingestJob('city,temp\nOslo,3\n', 'four');
  expect(done.status).toBe('succeeded');
  record('four', done.result!.version);
  const refused = await ingestJob('a,b,c\n1,2,3\n4,5\n', 'ragged');
  expect(refused.status).toBe('failed');
  // The job system enqueues its retention sweep (`jobs.sweep`) at start-up: the counts below include it once it ran.
  const settled = await eventually(
    () => stats(),
    (s) => s.jobs.byStatus.queued === 0 && s.jobs.byStatus.running === 0,
    20_000,
  );
  expect([settled.jobs.byStatus.queued, settled.jobs.byStatus.running]).toEqual([0, 0]);
});
afterAll(async () => {
  await t?.close();
});

describe('GET /api/v1/system/stats', () => {
  it('counts datasets, versions, rows and bytes in total, by format and by workspace', async () => {
    const s = await stats();
    expect(stored).toHaveLength(5);
    expect(s.totals).toEqual(totalsOf(stored));
    expect(s.totals).toMatchObject({ datasets: 4, versions: 5, rows: 15 });
    const csv = stored.filter((v) => v.format === 'csv');
    const ndjson = stored.filter((v) => v.format === 'ndjson');
    expect(s.byFormat.map((f) => f.format).sort()).toEqual(['csv', 'ndjson']);
    expect(s.byFormat.find((f) => f.format === 'csv')).toEqual({ format: 'csv', ...totalsOf(csv) });
    expect(s.byFormat.find((f) => f.format === 'ndjson')).toEqual({ format: 'ndjson', ...totalsOf(ndjson) });
    const home = stored.filter((v) => v.workspaceId === 'ws_default');
    expect(s.byWorkspace.map((w) => w.workspaceId).sort()).toEqual([second, 'ws_default'].sort());
    expect(s.byWorkspace.find((w) => w.workspaceId === 'ws_default')).toEqual({
      workspaceId: 'ws_default',
      name: 'Default',
      ...totalsOf(home),
    });
    expect(s.byWorkspace.find((w) => w.workspaceId === second)).toEqual({
      workspaceId: second,
      name: 'Second',
      ...totalsOf(stored.filter((v) => v.workspaceId === second)),
    });
    expect(totalsOf(home)).toMatchObject({ datasets: 3, versions: 4, rows: 10 });
  });

  it('counts jobs by status and kind, with the success rate', async () => {
    const { jobs } = await stats();
    // Every upload is an ingest job, `?wait=true` ones included: the four stored by put() and the two above.
    expect(jobs.byKind).toEqual([
      {
        kind: 'ingest',
        total: 6,
        byStatus: { queued: 0, running: 0, succeeded: 5, failed: 1, cancelled: 0 },
        successRate: 5 / 6,
      },
      {
        kind: 'jobs.sweep',
        total: 1,
        byStatus: { queued: 0, running: 0, succeeded: 1, failed: 0, cancelled: 0 },
        successRate: 1,
      },
    ]);
    expect(jobs).toMatchObject({
      total: 7,
      byStatus: { queued: 0, running: 0, succeeded: 6, failed: 1, cancelled: 0 },
      successRate: 6 / 7,
    });
  });

  it('answers a zero-filled daily series of UTC days ending today', async () => {
    const s = await stats('?days=3');
    const today = new Date();
    const day = (back: number) =>
      new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - back * 86_400_000)
        .toISOString()
        .slice(0, 10);
    expect(s.days).toBe(3);
    expect(s.since).toBe(`${day(2)}T00:00:00.000Z`);
    const zero = { versions: 0, rows: 0, parquetBytes: 0, sourceBytes: 0, jobsFinished: 0, jobsFailed: 0 };
    const all = totalsOf(stored);
    expect(s.daily).toEqual([
      { date: day(2), ...zero },
      { date: day(1), ...zero },
      {
        date: day(0),
        versions: 5,
        rows: 15,
        parquetBytes: all.parquetBytes,
        sourceBytes: all.sourceBytes,
        jobsFinished: 7,
        jobsFailed: 1,
      },
    ]);
    expect((await stats()).daily).toHaveLength(30);
  });

  it('lists the largest datasets by Parquet bytes', async () => {
    const { largestDatasets } = await stats();
    const byDataset = new Map<string, Stored[]>();
    for (const v of stored) byDataset.set(v.datasetId, [...(byDataset.get(v.datasetId) ?? []), v]);
    const expected = [...byDataset]
      .map(([id, versions]) => ({
        id,
        name: versions[0]!.name,
        workspaceId: versions[0]!.workspaceId,
        workspaceName: versions[0]!.workspaceId === second ? 'Second' : 'Default',
        versions: versions.length,
        rows: versions[versions.length - 1]!.rows,
        parquetBytes: sum(versions, 'parquetBytes'),
        sourceBytes: sum(versions, 'sourceBytes'),
      }))
      .sort((a, b) => b.parquetBytes - a.parquetBytes || (a.id < b.id ? -1 : 1));
    expect(largestDatasets).toEqual(expected);
    // The dataset with two versions holds the most.
    expect(largestDatasets[0]).toMatchObject({ name: 'one', versions: 2, rows: 3 });
  });

  it('is for instance administrators only', async () => {
    const owner = await actor(t, 'owner');
    const denied = await problemOf(await fetch(`${t.api}/system/stats`, { headers: owner.headers }));
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('forbidden');
    expect((await problemOf(await fetch(`${t.api}/system/stats`))).status).toBe(401);
  });

  it.each(['0', '366', 'week'])('refuses days=%s', async (days) => {
    const p = await problemOf(await t.fetch(`${t.api}/system/stats?days=${days}`));
    expect(p.status).toBe(400);
    expect(p.errors.map((e) => e.pointer)).toEqual(['/query/days']);
  });
});
