import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { sweepScratch, sweepScratchRoot } from './scratch.js';

const H = 3_600_000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-scratch-sweep-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: number, ageMs: number): Promise<string> {
  const p = path.join(dir, name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, Buffer.alloc(bytes));
  const when = new Date(Date.now() - ageMs);
  await utimes(p, when, when);
  return p;
}

describe('sweepScratch', () => {
  it('removes files past the limit, keeps young ones and directories; a dry run only counts', async () => {
    const old = await file('old.bin', 10, 2 * H);
    const nested = await file('duckdb/spill.tmp', 20, 3 * H);
    const young = await file('young.bin', 30, H / 2);
    const now = new Date();
    expect(await sweepScratch(dir, H, now, true)).toEqual({ objects: 2, bytes: 30 });
    expect([old, nested, young].every((p) => existsSync(p))).toBe(true);
    expect(await sweepScratch(dir, H, now, false)).toEqual({ objects: 2, bytes: 30 });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(nested)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(path.join(dir, 'duckdb'))).toBe(true);
  });

  it.runIf(process.platform === 'linux')('never removes a file this process holds open, however old', async () => {
    const held = await file('held.bin', 10, 5 * H);
    const handle = await open(held, 'r');
    try {
      expect(await sweepScratch(dir, H, new Date(), false)).toEqual({ objects: 0, bytes: 0 });
      expect(existsSync(held)).toBe(true);
    } finally {
      await handle.close();
    }
    expect(await sweepScratch(dir, H, new Date(), false)).toEqual({ objects: 1, bytes: 10 });
  });

  it('a missing directory is nothing to sweep', async () => {
    expect(await sweepScratch(path.join(dir, 'gone'), H, new Date(), false)).toEqual({ objects: 0, bytes: 0 });
  });
});

describe('sweepScratchRoot', () => {
  it.runIf(process.platform === 'linux')(
    "sweeps every process's directory, keeping what a living process holds open",
    async () => {
      // Another process (as the job worker is to the server) holds one of its old scratch files open.
      const script =
        'process.stdin.once("data", (d) => { require("fs").openSync(String(d).trim(), "r"); process.stdout.write("open\\n"); }); setInterval(() => {}, 1000);';
      const holder = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'ignore'] });
      try {
        const held = await file(`p${holder.pid}/held.bin`, 10, 5 * H);
        const opened = new Promise((resolve) => holder.stdout!.once('data', resolve));
        holder.stdin!.write(`${held}\n`);
        await opened;
        const old = await file(`p${holder.pid}/old.bin`, 20, 2 * H);
        const mine = await file(`p${process.pid}/mine.bin`, 30, 2 * H);
        const orphan = await file('p999999999/left-by-a-crash.bin', 40, 2 * H);
        const other = await file('not-a-process/other.bin', 50, 2 * H);
        expect(await sweepScratchRoot(dir, H, new Date(), true)).toEqual({ objects: 3, bytes: 90 });
        expect(await sweepScratchRoot(dir, H, new Date(), false)).toEqual({ objects: 3, bytes: 90 });
        expect([old, mine, orphan].map((p) => existsSync(p))).toEqual([false, false, false]);
        expect([held, other].map((p) => existsSync(p))).toEqual([true, true]);
      } finally {
        holder.kill();
      }
    },
  );
});
