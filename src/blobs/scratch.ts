import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Local scratch space for work in progress (an upload being received, a transcoded copy, a Parquet file being
 * written, a DuckDB spill). Nothing here is ever the only copy of accepted data. Each process works in a
 * directory of its own (`<root>/p<pid>`); at start-up the directories of processes that no longer run are
 * removed: whatever a crash left behind was never acknowledged.
 */
export class Scratch {
  readonly dir: string;

  /** The directory of every process's own (`p<pid>`). */
  constructor(readonly root: string) {
    this.dir = path.join(root, `p${process.pid}`);
  }

  async reset(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    for (const entry of await fs.readdir(this.root)) {
      const pid = /^p(\d+)$/.exec(entry)?.[1];
      if (pid === undefined || Number(pid) === process.pid || !isRunning(Number(pid))) {
        await fs.rm(path.join(this.root, entry), { recursive: true, force: true });
      }
    }
    await fs.mkdir(this.dir, { recursive: true });
  }

  /** A fresh path (the file is not created). */
  file(suffix = ''): string {
    return path.join(this.dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}${suffix}`);
  }

  async remove(...paths: (string | undefined)[]): Promise<void> {
    await Promise.all(paths.filter((p): p is string => !!p).map((p) => fs.rm(p, { force: true, recursive: true })));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Flushes a file (or directory) to stable storage. */
export async function fsyncPath(p: string): Promise<void> {
  const handle = await fs.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
