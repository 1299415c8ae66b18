import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalBlobStore } from '../blobs/local.js';
import { Scratch } from '../blobs/scratch.js';
import { versionSummaryPrefix, type BlobStore } from '../blobs/types.js';
import { Engine } from '../engine/duckdb.js';
import type { Log } from '../logger.js';
import { TimeseriesSummaries, type SummaryBuild } from './summaries.js';

/** The stored summaries over a real DuckDB and a local blob store. */
let dir: string;
let engine: Engine;
let blobs: LocalBlobStore;
let scratch: Scratch;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-summaries-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 2, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  blobs = new LocalBlobStore(path.join(dir, 'blobs'));
  scratch = new Scratch(path.join(dir, 'tmp'));
  await scratch.reset();
});
afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

const VERSION = 'datasets/ws_a/ds_a/dv_a.parquet';
const ROWS = `SELECT TIMESTAMP '2024-01-01' + to_seconds(i) AS t, CAST(i AS DOUBLE) AS v FROM range(1000) r(i)`;
/** Rows that take far longer to summarise than any test waits: a build of them runs until it is stopped. */
const ENDLESS = `SELECT TIMESTAMP '2024-01-01' + to_microseconds(i) AS t, CAST(i AS DOUBLE) AS v FROM range(100000000000) r(i)`;
const ok = () => Promise.resolve();

/** Warnings and errors logged, as (fields, message). */
function recordingLog(): Log & { lines: { level: string; fields: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (fields: unknown, msg?: unknown): void =>
      void lines.push({ level, fields: fields as Record<string, unknown>, msg: String(msg) });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as never;
}

function summariesOver(store: BlobStore = blobs) {
  const log = recordingLog();
  return { log, summaries: new TimeseriesSummaries({ blobs: store, engine, scratch, log }) };
}

/** A build of `rows` whose file hold is counted: `held` is how many holds are not released yet. */
function counted(rows: string, confirm: () => Promise<unknown> = ok): SummaryBuild & { held: () => number } {
  let held = 0;
  return {
    fineUs: 10_000_000,
    rows,
    confirm,
    hold: () => {
      held++;
      return async () => void held--;
    },
    held: () => held,
  };
}

/** Waits (polling, no fixed sleep) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

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

  it('builds in the background, one per key and one at a time, holding the rows until done, and reads it afterwards', async () => {
    const { summaries, log } = summariesOver();
    const run = vi.spyOn(engine, 'run');
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'v', 10_000_000);
    expect(await summaries.open(key)).toBeNull();
    const b = counted(ROWS);
    expect(summaries.start(key, b)).toBe(true);
    expect(b.held()).toBe(1);
    // While it runs: no second build of the key, none of another key, nothing queued.
    const other = counted(ROWS);
    expect(summaries.start(key, counted(ROWS))).toBe(false);
    expect(summaries.start(TimeseriesSummaries.key(VERSION, 'ts', 'w', 10_000_000), other)).toBe(false);
    expect(other.held()).toBe(0);
    await summaries.settled();
    expect(b.held()).toBe(0);
    expect(run).toHaveBeenCalledTimes(1);
    run.mockRestore();
    const file = await summaries.open(key);
    expect(file).not.toBeNull();
    const [row] = await engine.all(
      `SELECT count(*) AS buckets, sum(n) AS n, min(lo_v) AS lo, max(hi_v) AS hi FROM read_parquet('${file!.path}')`,
    );
    // 1,000 seconds in buckets of 10 s.
    expect(row).toEqual({ buckets: 100, n: 1000, lo: 0, hi: 999 });
    await file!.release();
    expect(log.lines).toEqual([]);
  });

  it('deletes a summary whose version went while it was built, and logs it with the key', async () => {
    const { summaries, log } = summariesOver();
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'gone', 10_000_000);
    const b = counted(ROWS, () => Promise.reject(new Error('version gone')));
    expect(summaries.start(key, b)).toBe(true);
    await summaries.settled();
    expect(await blobs.stat(key)).toBeNull();
    expect(b.held()).toBe(0);
    expect(log.lines).toMatchObject([{ level: 'warn', fields: { key, err: { message: 'version gone' } } }]);
  });

  it('logs a build the blob store fails, stores nothing, and lets a later request start it again', async () => {
    const full = Object.create(blobs) as BlobStore;
    full.putFile = () => Promise.reject(new Error('ENOSPC: no space left on device'));
    const { summaries, log } = summariesOver(full);
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'full', 10_000_000);
    const b = counted(ROWS);
    expect(summaries.start(key, b)).toBe(true);
    await summaries.settled();
    expect(await blobs.stat(key)).toBeNull();
    expect(b.held()).toBe(0);
    expect(log.lines).toMatchObject([{ level: 'warn', fields: { key, err: { message: /ENOSPC/ } } }]);
    expect(summaries.start(key, counted(ROWS))).toBe(true);
    await summaries.settled();
  });

  it('answers null for a summary the blob store fails to open, unless the request is over', async () => {
    const failing = Object.create(blobs) as BlobStore;
    failing.localFile = () => Promise.reject(new Error('connect ECONNREFUSED'));
    const { summaries, log } = summariesOver(failing);
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'v', 10_000_000);
    expect(await summaries.open(key)).toBeNull();
    expect(log.lines).toMatchObject([{ level: 'warn', fields: { key, err: { message: 'connect ECONNREFUSED' } } }]);
    const hungUp = new AbortController();
    const reason = new Error('client hung up');
    hungUp.abort(reason);
    await expect(summaries.open(key, hungUp.signal)).rejects.toBe(reason);
  });

  it('stops a running build on close, without a warning, and starts none after', async () => {
    const { summaries, log } = summariesOver();
    const key = TimeseriesSummaries.key(VERSION, 'ts', 'endless', 1000);
    const b = counted(ENDLESS);
    expect(summaries.start(key, b)).toBe(true);
    await until(() => engine.busyConnections > 0, 'the build to run');
    await summaries.close();
    expect(engine.busyConnections).toBe(0);
    expect(b.held()).toBe(0);
    expect(await blobs.stat(key)).toBeNull();
    expect(summaries.start(key, counted(ROWS))).toBe(false);
    expect(log.lines).toEqual([]);
  });
});
