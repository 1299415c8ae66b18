import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from './duckdb.js';

/** Minutes of work on two threads unless interrupted. */
const ENDLESS = 'SELECT sum(hash(i)) AS s FROM range(100000000000) t(i)';

describe('Engine with an AbortSignal (real DuckDB)', () => {
  let dir: string;
  let engine: Engine;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weir-engine-'));
    engine = await Engine.open({ memoryLimit: '256MB', threads: 2, tempDir: dir });
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
    // The engine is unharmed: the next query answers.
    await expect(engine.ping()).resolves.toBeUndefined();
  });

  it('starts nothing for a signal that has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(engine.withConnection(() => Promise.reject(new Error('ran anyway')), controller.signal)).rejects.toThrow('too late');
  });
});
