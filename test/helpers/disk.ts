import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Every file below dir (relative paths); [] when dir does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Files a request may have left behind: scratch space and stored blobs. */
export async function storedFiles(dataDir: string): Promise<{ scratch: string[]; blobs: string[] }> {
  return { scratch: await filesUnder(path.join(dataDir, 'tmp')), blobs: await filesUnder(path.join(dataDir, 'blobs')) };
}
