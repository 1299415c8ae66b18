import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalBlobStore } from '../blobs/local.js';
import { Scratch } from '../blobs/scratch.js';
import { versionSummaryPrefix } from '../blobs/types.js';
import { Engine } from '../engine/duckdb.js';
import { TimeseriesSummaries } from './summaries.js';

/** The stored summaries over a real DuckDB and a local blob store. */
let dir: string;
let engine: Engine;
let blobs: LocalBlobStore;
let summaries: TimeseriesSummaries;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-summaries-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 2, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  blobs = new LocalBlobStore(path.join(dir, 'blobs'));
  const scratch = new Scratch(path.join(dir, 'tmp'));
  await scratch.reset();
  summaries = new TimeseriesSummaries({ blobs, engine, scratch });
});
afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

const VERSION = 'datasets/ws_a/ds_a/dv_a.parquet';
const ROWS = `SELECT TIMESTAMP '2024-01-01' + to_seconds(i) AS t, CAST(i AS DOUBLE) AS v FROM range(1000) r(i)`;
const ok = () => Promise.resolve();

describe('TimeseriesSummaries', () => {
  it('keys a summary by version, column pair and fine width, under the version', () => {
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'v', 1000);
    expect(key.startsWith(versionSummaryPrefix(VERSION))).toBe(true);
    expect(versionSummaryPrefix(VERSION)).toBe('datasets/ws_a/ds_a/dv_a.summaries/');
    const others = [
      TimeseriesSummaries.key('datasets/ws_a/ds_a/dv_b.parquet', 'ts', 'v', 1000),
      TimeseriesSummaries.key(VERSION, 'ts', 'w', 1000),
      TimeseriesSummaries.key(VERSION, 'v', 'ts', 1000),
      // Names are hashed as a pair: no concatenation of two names makes another pair's key.
      TimeseriesSummaries.key(VERSION, 'tsv', '', 1000),
      TimeseriesSummaries.key(VERSION, 'ts', 'v', 2000),
    ];
    expect(new Set([key, ...others]).size).toBe(6);
  });

  it('builds a summary once, for concurrent first requests too, and reads it afterwards', async () => {
    const run = vi.spyOn(engine, 'run');
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'v', 10_000_000);
    const files = await Promise.all(
      [1, 2, 3].map(() => summaries.open(key, { fineUs: 10_000_000, rows: ROWS, confirm: ok })),
    );
    const again = await summaries.open(key, { fineUs: 10_000_000, rows: ROWS, confirm: ok });
    expect(run).toHaveBeenCalledTimes(1);
    run.mockRestore();
    const [row] = await engine.all(
      `SELECT count(*) AS buckets, sum(n) AS n, min(lo_v) AS lo, max(hi_v) AS hi FROM read_parquet('${again.path}')`,
    );
    // 1,000 seconds in buckets of 10 s.
    expect(row).toEqual({ buckets: 100, n: 1000, lo: 0, hi: 999 });
    await Promise.all([...files, again].map((f) => f.release()));
  });

  it('deletes a summary whose version went while it was built, and says so', async () => {
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'gone', 10_000_000);
    const gone = new Error('version gone');
    await expect(
      summaries.open(key, { fineUs: 10_000_000, rows: ROWS, confirm: () => Promise.reject(gone) }),
    ).rejects.toBe(gone);
    expect(await blobs.stat(key)).toBeNull();
  });
});
