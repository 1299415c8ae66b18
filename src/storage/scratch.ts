import fs from 'node:fs/promises';
import path from 'node:path';
import { isPastRetention } from './policy.js';

export interface ScratchSweepResult {
  objects: number;
  bytes: number;
}

/**
 * Files a process opened and has not closed (Linux: the links in /proc/<pid>/fd; a process of the same user, such
 * as the job worker process beside `weir serve`, is readable). A scratch file in use, such as a DuckDB spill file
 * or an upload being received, is never removed however old. Elsewhere the set is empty and age alone decides.
 */
async function openFiles(pid: number | 'self' = 'self'): Promise<Set<string>> {
  const open = new Set<string>();
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = await fs.readdir(fdDir);
  } catch {
    return open;
  }
  await Promise.all(
    fds.map(async (fd) => {
      try {
        open.add(await fs.readlink(path.join(fdDir, fd)));
      } catch {
        // Closed meanwhile.
      }
    }),
  );
  return open;
}

/**
 * The storage sweep's pass over the scratch space of every process of this node (`<root>/p<pid>`): the server's
 * and its job worker's (the sweep runs in the worker), and what processes that died left behind. Files open in
 * their (living) process are kept, as in sweepScratch.
 */
export async function sweepScratchRoot(
  root: string,
  maxAgeMs: number,
  now: Date,
  dryRun: boolean,
): Promise<ScratchSweepResult> {
  const result: ScratchSweepResult = { objects: 0, bytes: 0 };
  let entries: string[];
  try {
    entries = await fs.readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw e;
  }
  for (const entry of entries) {
    const pid = /^p(\d+)$/.exec(entry)?.[1];
    if (pid === undefined) continue;
    const swept = await sweepScratch(
      path.join(root, entry),
      maxAgeMs,
      now,
      dryRun,
      Number(pid) === process.pid ? 'self' : Number(pid),
    );
    result.objects += swept.objects;
    result.bytes += swept.bytes;
  }
  return result;
}

/**
 * Removes the files of this process's scratch directory last modified more than `maxAgeMs` ago (strictly) and not
 * open in this process. Scratch space is per process and per node: every process runs this for its own directory.
 * Directories are left (DuckDB's spill directory lives here); `dryRun` only counts.
 */
export async function sweepScratch(
  dir: string,
  maxAgeMs: number,
  now: Date,
  dryRun: boolean,
  owner: number | 'self' = 'self',
): Promise<ScratchSweepResult> {
  const result: ScratchSweepResult = { objects: 0, bytes: 0 };
  let entries;
  try {
    entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw e;
  }
  const open = await openFiles(owner);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    if (open.has(full)) continue;
    let st;
    try {
      st = await fs.stat(full);
    } catch {
      continue;
    }
    if (!isPastRetention(st.mtime, now, maxAgeMs)) continue;
    if (!dryRun) {
      try {
        await fs.rm(full, { force: true });
      } catch {
        continue;
      }
    }
    result.objects++;
    result.bytes += st.size;
  }
  return result;
}
