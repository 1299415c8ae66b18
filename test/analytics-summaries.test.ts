import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionSummaryPrefix, type BlobEntry } from '../src/blobs/types.js';
import type { Job } from '../src/jobs/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { upload, uploadDataset } from './helpers/upload.js';

/**
 * /timeseries answered from the min/max summaries of a version (src/analytics/summaries.ts) through a real server:
 * the same answers as a server that reads the rows, summaries stored beside their version and reused, kept apart
 * per version and column, and deleted with the dataset and with versions the sweep prunes.
 */
let summarised: TestApp;
let raw: TestApp;

/** 6,000 rows an odd number of seconds apart, in no order; `v` without a value every 7th row, `w` a second column. */
function csv(seed: number): string {
  const lines = ['ts,v,w,k'];
  for (let i = 0; i < 6000; i++) {
    const j = (i * 2_654_435_761) % 6000;
    const ts = new Date(Date.UTC(2023, 11, 30) + j * 37_000 + seed * 1000).toISOString();
    const v = j % 7 === 0 ? '' : String(Math.round(Math.sin(j / 40 + seed) * 1e6) / 1000 + j / 1e5);
    lines.push(`${ts},${v},${(j * 7919) % 6007},${j % 3}`);
  }
  return lines.join('\n');
}

beforeAll(async () => {
  const sweepNever = { WEIR_STORAGE_SWEEP_CRON: '0 0 1 1 *' };
  summarised = await startTestApp({ ...sweepNever, WEIR_TIMESERIES_SUMMARY_MIN_ROWS: '1000' });
  raw = await startTestApp({ ...sweepNever, WEIR_TIMESERIES_SUMMARY_MIN_ROWS: '100000000' });
});
afterAll(async () => {
  await summarised?.close();
  await raw?.close();
});

async function get<T>(t: TestApp, path: string): Promise<T> {
  const res = await t.fetch(`${t.api}/datasets/${path}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

async function listed(t: TestApp, prefix: string): Promise<BlobEntry[]> {
  const out: BlobEntry[] = [];
  for await (const e of t.context.blobs.list(prefix)) out.push(e);
  return out;
}

const versionKey = (datasetId: string, versionId: string) => `datasets/ws_default/${datasetId}/${versionId}.parquet`;

interface Series {
  versionId: string;
  rows: number;
  points: { time: string; value: number | null }[];
  downsampled: boolean;
}

describe('/timeseries from summaries', () => {
  let ids: { id: string; versionId: string };
  let rawIds: { id: string; versionId: string };
  beforeAll(async () => {
    ids = await uploadDataset(summarised, csv(0), { filename: 'sensor.csv', name: 'sensor' });
    rawIds = await uploadDataset(raw, csv(0), { filename: 'sensor.csv', name: 'sensor' });
  });

  it('answers what the rows answer, for either value column, and keeps one summary per column', async () => {
    const prefix = versionSummaryPrefix(versionKey(ids.id, ids.versionId));
    expect(await listed(summarised, prefix)).toEqual([]);
    for (const q of ['value=v&points=1000', 'value=v&points=101', 'value=w&points=300', 'value=v&points=4000']) {
      const a = await get<Series>(summarised, `${ids.id}/timeseries?time=ts&${q}`);
      const b = await get<Series>(raw, `${rawIds.id}/timeseries?time=ts&${q}`);
      expect(a.downsampled, q).toBe(true);
      expect({ ...a, versionId: null }, q).toEqual({ ...b, versionId: null });
    }
    const stored = await listed(summarised, prefix);
    expect(stored).toHaveLength(2);
    // Read again, not rebuilt: another point count answers from the same files.
    await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=500`);
    expect(await listed(summarised, prefix)).toEqual(stored);
    // Requests it cannot answer build none.
    await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=100&mode=lttb`);
    await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=100&series=k`);
    await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=100&bucket=1h&agg=max`);
    expect(await listed(summarised, prefix)).toHaveLength(2);
    // The raw server kept none.
    expect(await listed(raw, `datasets/ws_default/${rawIds.id}/`)).toHaveLength(1);
  });

  it('answers each version from its own summary, and deletes them with the dataset', async () => {
    const res = await upload(summarised, csv(5), { path: `/datasets/${ids.id}/versions`, filename: 'sensor.csv' });
    expect(res.status, await res.clone().text()).toBe(201);
    const second = ((await res.json()) as { version: { id: string } }).version.id;
    const rawRes = await upload(raw, csv(5), { path: `/datasets/${rawIds.id}/versions`, filename: 'sensor.csv' });
    expect(rawRes.status).toBe(201);
    const a = await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=1000`);
    const b = await get<Series>(raw, `${rawIds.id}/timeseries?time=ts&value=v&points=1000`);
    expect(a.versionId).toBe(second);
    expect({ ...a, versionId: null }).toEqual({ ...b, versionId: null });
    const first = await get<Series>(
      summarised,
      `${ids.id}/timeseries?time=ts&value=v&points=1000&version=${ids.versionId}`,
    );
    expect(first.points).not.toEqual(a.points);
    expect(await listed(summarised, versionSummaryPrefix(versionKey(ids.id, second)))).toHaveLength(1);

    const deleted = await summarised.fetch(`${summarised.api}/datasets/${ids.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await listed(summarised, `datasets/ws_default/${ids.id}/`)).toEqual([]);
  });

  it('deletes the summaries of the versions the sweep prunes, and keeps the latest one', async () => {
    const d = await uploadDataset(summarised, csv(1), { filename: 'sensor.csv', name: 'pruned' });
    const res = await upload(summarised, csv(2), { path: `/datasets/${d.id}/versions`, filename: 'sensor.csv' });
    expect(res.status).toBe(201);
    const latest = ((await res.json()) as { version: { id: string } }).version.id;
    for (const v of [d.versionId, latest])
      await get<Series>(summarised, `${d.id}/timeseries?time=ts&value=v&points=200&version=${v}`);
    expect(await listed(summarised, versionSummaryPrefix(versionKey(d.id, d.versionId)))).toHaveLength(1);
    const patched = await summarised.fetch(`${summarised.api}/datasets/${d.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keepVersions: 1 }),
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    const sweep = await summarised.fetch(`${summarised.api}/system/storage/sweep?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: false }),
    });
    expect(sweep.status, await sweep.clone().text()).toBe(200);
    expect(((await sweep.json()) as Job<unknown, unknown>).status).toBe('succeeded');
    const left = (await listed(summarised, `datasets/ws_default/${d.id}/`)).map((e) => e.key).sort();
    expect(left).toHaveLength(2);
    expect(left[0]).toBe(versionKey(d.id, latest));
    expect(left[1]!.startsWith(versionSummaryPrefix(versionKey(d.id, latest)))).toBe(true);
  });
});
