import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { BLOB_AREAS, type BlobStore } from '../../src/blobs/types.js';

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

/** Keys stored under a prefix (ending in '/'), sorted, through the blob store: the same in local and S3 mode. */
export async function blobKeys(blobs: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of blobs.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

/** What a request may have left behind: files in scratch space and objects in the blob store. */
export async function storedFiles(app: {
  dataDir: string;
  context: { blobs: BlobStore };
}): Promise<{ scratch: string[]; blobs: string[] }> {
  const blobs: string[] = [];
  for (const area of BLOB_AREAS) blobs.push(...(await blobKeys(app.context.blobs, `${area}/`)));
  return { scratch: await filesUnder(path.join(app.dataDir, 'tmp')), blobs: blobs.sort() };
}
