import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, inputError, isOutOfMemory } from './duckdb.js';

/** Minutes of work on two threads unless interrupted. */
const ENDLESS = 'SELECT sum(hash(i)) AS s FROM range(100000000000) t(i)';

describe('Engine with an AbortSignal (real DuckDB)', () => {
  let dir: string;
  let engine: Engine;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weir-engine-'));
    engine = await Engine.open({ memoryLimit: '256MB', threads: 2, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  });
  afterAll(async () => {
    engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('interrupts a running query when the signal aborts and rejects with the signal’s reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const running = engine.all(ENDLESS, undefined, controller.signal);
    setTimeout(() => controller.abort(reason), 200);
    const started = Date.now();
    await expect(running).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3000);
    // The rejection comes once DuckDB has stopped: no connection is left working.
    expect(engine.busyConnections).toBe(0);
    // The engine is unharmed: the next query answers.
    await expect(engine.ping()).resolves.toBeUndefined();
  });

  it('interrupts the next query when the signal aborts between two of them', async () => {
    const controller = new AbortController();
    const reason = new Error('stop between queries');
    const started = Date.now();
    const running = engine.withConnection(async (c) => {
      await c.run('SELECT 1');
      // Aborted while no query runs on the connection: DuckDB would forget a single interrupt when the next begins.
      controller.abort(reason);
      await c.run(ENDLESS);
    }, controller.signal);
    await expect(running).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('starts nothing for a signal that has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(
      engine.withConnection(() => Promise.reject(new Error('ran anyway')), controller.signal),
    ).rejects.toThrow('too late');
  });
});

describe('Engine opened on first use (real DuckDB)', () => {
  it('opens on the first query, not for a readiness ping; a bad setting fails that query and the next one retries', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'weir-engine-'));
    const options = { memoryLimit: '256MB', threads: 1, tempDir: dir, tempLimitBytes: 1024 ** 3 };
    try {
      const engine = Engine.lazy(options);
      await expect(engine.ping()).resolves.toBeUndefined();
      expect(engine.opened).toBe(false);
      // Two operations at once share one opening.
      const [a, b] = await Promise.all([engine.all('SELECT 1 AS n'), engine.all('SELECT 2 AS n')]);
      expect([a[0]?.n, b[0]?.n]).toEqual([1, 2]);
      expect(engine.opened).toBe(true);
      expect(await engine.version()).toMatch(/^v\d/);
      engine.close();
      await expect(engine.ping()).rejects.toThrow('engine is closed');

      const bad = Engine.lazy({ ...options, memoryLimit: 'not a size' });
      await expect(bad.all('SELECT 1')).rejects.toThrow();
      await expect(bad.all('SELECT 1')).rejects.toThrow();
      expect(bad.opened).toBe(false);
      bad.close();

      // Closed before it was ever used: nothing opens afterwards.
      const unused = Engine.lazy(options);
      unused.close();
      await expect(unused.all('SELECT 1')).rejects.toThrow('engine is closed');
      expect(unused.opened).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('inputError (real DuckDB messages)', () => {
  it('names the kind and keeps only the first line of the message; other errors are not input errors', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'weir-engine-'));
    const engine = await Engine.open({ memoryLimit: '256MB', threads: 1, tempDir: dir, tempLimitBytes: 1024 ** 3 });
    const failure = (sql: string) =>
      engine.all(sql).then(
        () => null,
        (e: unknown) => e,
      );
    try {
      expect(inputError(await failure("SELECT CAST('n/a' AS INTEGER)"))).toEqual({
        kind: 'Conversion',
        detail: expect.stringContaining("'n/a'"),
      });
      const binder = inputError(await failure('SELECT missing FROM range(1)'));
      expect(binder?.kind).toBe('Binder');
      expect(binder?.detail).not.toContain('\n');
      expect(inputError(await failure('SELECT * FROM no_such_table'))).toBeNull();
      expect(inputError(new Error('IO Error: cannot open file'))).toBeNull();
      expect(inputError('Conversion Error: not an Error')).toBeNull();
    } finally {
      engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('memory and spill limits (real DuckDB)', () => {
  let dir: string;
  let engine: Engine;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weir-engine-'));
    engine = await Engine.open({ memoryLimit: '64MB', threads: 2, tempDir: dir, tempLimitBytes: 8 * 1024 ** 2 });
  });
  afterAll(async () => {
    engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the memory limit and the spill limit on every connection', async () => {
    const settings =
      "SELECT current_setting('memory_limit') AS memory, current_setting('max_temp_directory_size') AS temp";
    const answers = await Promise.all([engine.all(settings), engine.all(settings)]);
    for (const [row] of answers) expect(row).toEqual({ memory: '61.0 MiB', temp: '8.0 MiB' });
  });

  it('stops work that would spill past the limit with an error isOutOfMemory recognises', async () => {
    // About 150 MB of rows in 64 MB of memory: the rest must go to the spill directory, which may hold 8 MiB.
    const e = await engine
      .withConnection(async (c) => {
        await c.run(
          'CREATE TEMP TABLE spilled AS SELECT i, md5(CAST(i AS VARCHAR)) || md5(CAST(-i AS VARCHAR)) AS s FROM range(2000000) t(i)',
        );
      })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect((e as Error | null)?.message).toMatch(/^Out of Memory Error: failed to offload/);
    expect(isOutOfMemory(e)).toBe(true);
    expect(isOutOfMemory(new Error('IO Error: disk full'))).toBe(false);
    expect(isOutOfMemory('Out of Memory Error: not an Error')).toBe(false);
    await expect(engine.ping()).resolves.toBeUndefined();
  });
});
