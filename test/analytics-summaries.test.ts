import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { versionSummaryPrefix, type BlobEntry } from '../src/blobs/types.js';
import type { Job } from '../src/jobs/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { upload, uploadDataset } from './helpers/upload.js';

/**
 * /timeseries answered from the min/max summaries of a version (src/analytics/summaries.ts) through a real server:
 * the same answers as a server that reads the rows, summaries built in the background after a first request that
 * answers from the rows, stored beside their version and reused, kept apart per version and column, deleted with the
 * dataset and with versions the sweep prunes; a summary that cannot be built or opened leaves the rows to answer.
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

  it('answers the first request from the rows, builds in the background, then answers from the summary', async () => {
    const prefix = versionSummaryPrefix(versionKey(ids.id, ids.versionId));
    expect(await listed(summarised, prefix)).toEqual([]);
    const queries = ['value=v&points=1000', 'value=v&points=101', 'value=w&points=300', 'value=v&points=4000'];
    const expected = new Map<string, Series>();
    for (const q of queries) expected.set(q, await get<Series>(raw, `${rawIds.id}/timeseries?time=ts&${q}`));
    const same = async (q: string) => {
      const a = await get<Series>(summarised, `${ids.id}/timeseries?time=ts&${q}`);
      expect(a.downsampled, q).toBe(true);
      expect({ ...a, versionId: null }, q).toEqual({ ...expected.get(q)!, versionId: null });
    };
    // First requests: answered from the rows, each leaving a build behind it (waited for, so the next one may start).
    for (const q of queries) {
      await same(q);
      await summarised.context.analytics.summariesSettled();
    }
    const stored = await listed(summarised, prefix);
    expect(stored).toHaveLength(2);
    // The answers are cached per request: other point counts are new requests, which read the stored summaries.
    const opened = vi.spyOn(summarised.context.blobs, 'localFile');
    try {
      for (const q of ['value=v&points=999', 'value=w&points=301']) {
        expected.set(q, await get<Series>(raw, `${rawIds.id}/timeseries?time=ts&${q}`));
        await same(q);
      }
      const summaryReads = opened.mock.calls.flatMap(([key], i) =>
        key.startsWith(prefix) ? [opened.mock.settledResults[i]?.type] : [],
      );
      expect(summaryReads).toEqual(['fulfilled', 'fulfilled']);
    } finally {
      opened.mockRestore();
    }
    expect(await listed(summarised, prefix)).toEqual(stored);
    // Requests it cannot answer build none.
    await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=100&mode=lttb`);
    await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=100&series=k`);
    await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=100&bucket=1h&agg=max`);
    await summarised.context.analytics.summariesSettled();
    expect(await listed(summarised, prefix)).toHaveLength(2);
    // The raw server kept none.
    expect(await listed(raw, `datasets/ws_default/${rawIds.id}/`)).toHaveLength(1);
  });

  it('answers without waiting for the build, and starts no other while one runs', async () => {
    const d = await uploadDataset(summarised, csv(6), { filename: 'sensor.csv', name: 'slow disk' });
    const prefix = versionSummaryPrefix(versionKey(d.id, d.versionId));
    const blobs = summarised.context.blobs;
    const original = blobs.putFile.bind(blobs);
    let reached!: () => void;
    const putReached = new Promise<void>((r) => (reached = r));
    let unblock!: () => void;
    const gate = new Promise<void>((r) => (unblock = r));
    // The build's store write waits until the test lets it go.
    const put = vi.spyOn(blobs, 'putFile').mockImplementation(async (key, file) => {
      reached();
      await gate;
      return original(key, file);
    });
    try {
      await get<Series>(summarised, `${d.id}/timeseries?time=ts&value=v&points=1000`);
      await putReached;
      // Another pair's first request while the build runs: answered from the rows, no second build.
      await get<Series>(summarised, `${d.id}/timeseries?time=ts&value=w&points=1000`);
      expect(await listed(summarised, prefix)).toEqual([]);
      unblock();
      await summarised.context.analytics.summariesSettled();
      expect(put).toHaveBeenCalledTimes(1);
    } finally {
      unblock();
      put.mockRestore();
    }
    expect(await listed(summarised, prefix)).toHaveLength(1);
  });

  it('finishes a build its request started when that request is abandoned', async () => {
    const d = await uploadDataset(summarised, csv(3), { filename: 'sensor.csv', name: 'abandoned' });
    const prefix = versionSummaryPrefix(versionKey(d.id, d.versionId));
    const gone = new AbortController();
    // The client hangs up as the request finds no summary: its query on the rows is stopped, the build is not.
    const original = summarised.context.blobs.localFile.bind(summarised.context.blobs);
    const spy = vi.spyOn(summarised.context.blobs, 'localFile').mockImplementation(async (key) => {
      if (key.startsWith(prefix)) gone.abort(new Error('client hung up'));
      return original(key);
    });
    try {
      const q = {
        time: 'ts',
        value: 'v',
        agg: 'mean' as const,
        points: 1000,
        mode: 'minmax' as const,
        seriesLimit: 10,
      };
      await expect(summarised.context.analytics.timeseries('ws_default', d.id, q, gone.signal)).rejects.toThrow(
        'client hung up',
      );
    } finally {
      spy.mockRestore();
    }
    await summarised.context.analytics.summariesSettled();
    expect(await listed(summarised, prefix)).toHaveLength(1);
  });

  it('answers from the rows when a summary cannot be built or opened, and logs why', async () => {
    const d = await uploadDataset(summarised, csv(4), { filename: 'sensor.csv', name: 'failing' });
    const r = await uploadDataset(raw, csv(4), { filename: 'sensor.csv', name: 'failing' });
    const prefix = versionSummaryPrefix(versionKey(d.id, d.versionId));
    const blobs = summarised.context.blobs;
    const warned = (key: string) => summarised.logs.filter((l) => l.level === 'warn' && l.key === key);
    const same = async (points: number) => {
      const q = `timeseries?time=ts&value=v&points=${points}`;
      const a = await get<Series>(summarised, `${d.id}/${q}`);
      const b = await get<Series>(raw, `${r.id}/${q}`);
      expect({ ...a, versionId: null }).toEqual({ ...b, versionId: null });
    };

    const put = vi.spyOn(blobs, 'putFile').mockRejectedValue(new Error('ENOSPC: no space left on device'));
    let key: string;
    try {
      await same(1000);
      await summarised.context.analytics.summariesSettled();
      expect(put).toHaveBeenCalledTimes(1);
      key = put.mock.calls[0]![0];
    } finally {
      put.mockRestore();
    }
    expect(key.startsWith(prefix)).toBe(true);
    expect(await listed(summarised, prefix)).toEqual([]);
    expect(warned(key)).toMatchObject([{ err: { message: 'ENOSPC: no space left on device' } }]);

    // Built by the next request once the disk has room; then the store fails to hand it out.
    await same(998);
    await summarised.context.analytics.summariesSettled();
    expect(await listed(summarised, prefix)).toHaveLength(1);
    const original = blobs.localFile.bind(blobs);
    const open = vi.spyOn(blobs, 'localFile').mockImplementation(async (k) => {
      if (k.startsWith(prefix)) throw new Error('connect ECONNREFUSED');
      return original(k);
    });
    try {
      await same(997);
    } finally {
      open.mockRestore();
    }
    expect(warned(key)).toHaveLength(2);
    expect(warned(key)[1]).toMatchObject({ err: { message: 'connect ECONNREFUSED' } });
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
    await summarised.context.analytics.summariesSettled();
    // From the second version's summary now (another point count: not the cached answer).
    const a2 = await get<Series>(summarised, `${ids.id}/timeseries?time=ts&value=v&points=999`);
    const b2 = await get<Series>(raw, `${rawIds.id}/timeseries?time=ts&value=v&points=999`);
    expect({ ...a2, versionId: null }).toEqual({ ...b2, versionId: null });
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
    for (const v of [d.versionId, latest]) {
      await get<Series>(summarised, `${d.id}/timeseries?time=ts&value=v&points=200&version=${v}`);
      await summarised.context.analytics.summariesSettled();
    }
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
