import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from './duckdb.js';
import {
  EXACT_DISTINCT_BATCH,
  EXACT_DISTINCT_ROWS,
  EXACT_DISTINCT_VALUES,
  parquetSchema,
  profileParquet,
  storedProfile,
} from './profile.js';

/** Distinct counts of the profile over real Parquet files (DuckDB). */
let dir: string;
let engine: Engine;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-profile-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 2, tempDir: dir, tempLimitBytes: 1024 ** 3 });
});
afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

async function parquet(name: string, select: string): Promise<string> {
  const file = path.join(dir, `${name}.parquet`);
  await engine.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return file;
}

async function distinctOf(file: string): Promise<Record<string, [number, boolean]>> {
  const profile = await profileParquet(engine, file, await parquetSchema(engine, file));
  return Object.fromEntries(profile.columns.map((c) => [c.name, [c.distinctEstimate, c.distinctExact]]));
}

describe('profileParquet distinct counts', () => {
  it('counts exactly where it is cheap on a large version, and marks the rest as estimates', async () => {
    const rows = EXACT_DISTINCT_ROWS + 50_000;
    // 20 devices as text, as integers, as decimals (no footer range to go by: counted after a small estimate), and
    // as dates; 20,000 wide-apart integers; a unique key and a unique measurement; a list (never counted).
    const file = await parquet(
      'large',
      `SELECT 'device-' || (i % 20) AS device, CAST(i % 20 AS INTEGER) AS device_id, (i % 20) * 1.5 AS level,
      DATE '2024-01-01' + CAST(i % 20 AS INTEGER) AS day, (i % 20000) * 1000 AS sparse, i AS id, i * 0.25 AS measured, i % 2 = 0 AS flag,
      [i] AS list FROM range(${rows}) r(i)`,
    );
    const d = await distinctOf(file);
    expect(d).toMatchObject({
      device: [20, true],
      device_id: [20, true],
      level: [20, true],
      day: [20, true],
      flag: [2, true],
      list: [0, false],
    });
    for (const name of ['sparse', 'id', 'measured']) {
      expect(d[name]![1], name).toBe(false);
      // An estimate, within HyperLogLog's error and never above the values there are.
      expect(d[name]![0], name).toBeGreaterThan(EXACT_DISTINCT_VALUES);
    }
    expect(d.id![0]).toBeLessThanOrEqual(rows);
    expect(d.id![0]).toBeGreaterThan(rows * 0.8);
  });

  it('counts every column exactly on a small version, nulls not counted', async () => {
    const file = await parquet(
      'small',
      `SELECT i * 0.5 AS half, CASE WHEN i % 3 = 0 THEN NULL ELSE 'v' || (i % 7) END AS label FROM range(${EXACT_DISTINCT_ROWS}) r(i)`,
    );
    expect(await distinctOf(file)).toEqual({ half: [EXACT_DISTINCT_ROWS, true], label: [7, true] });
  });

  it('counts more columns than one query takes, each exactly', async () => {
    const names = Array.from({ length: EXACT_DISTINCT_BATCH * 2 + 5 }, (_, i) => `c${i}`);
    const file = await parquet(
      'wide',
      `SELECT ${names.map((n, i) => `i % ${i + 2} AS ${n}`).join(', ')} FROM range(1000) r(i)`,
    );
    expect(await distinctOf(file)).toEqual(Object.fromEntries(names.map((n, i) => [n, [i + 2, true]])));
  });

  it('reads profiles stored before counts could be exact as estimates', () => {
    const stored = JSON.stringify({
      rowCount: 1,
      columns: [
        { name: 'a', distinctEstimate: 1 },
        { name: 'b', distinctEstimate: 1, distinctExact: true },
      ],
    });
    expect(storedProfile(stored).columns.map((c) => c.distinctExact)).toEqual([false, true]);
  });
});
