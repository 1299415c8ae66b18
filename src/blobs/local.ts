import { randomBytes } from 'node:crypto';
import type { Dir } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncPath } from './scratch.js';
import {
  assertValidKey,
  assertValidPrefix,
  BlobNotFoundError,
  type BlobEntry,
  type BlobStat,
  type BlobStore,
  type LocalBlob,
} from './types.js';

/** Blobs as files under one root directory. Writes are durable: the file and its directory are fsynced. */
export class LocalBlobStore implements BlobStore {
  readonly driver = 'local' as const;

  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  /** The directory holding every key under a prefix (`uploads/ws_a/` → `<root>/uploads/ws_a`). */
  private dirOf(prefix: string): string {
    assertValidPrefix(prefix);
    return path.join(this.root, ...prefix.slice(0, -1).split('/'));
  }

  async putFile(key: string, localPath: string): Promise<BlobStat> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    await fsyncPath(localPath);
    try {
      await fs.rename(localPath, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await fs.copyFile(localPath, target);
      await fsyncPath(target);
      await fs.rm(localPath, { force: true });
    }
    await fsyncPath(dir);
    const st = await fs.stat(target);
    return { bytes: st.size, modifiedAt: st.mtime };
  }

  async read(key: string): Promise<Readable> {
    const p = this.pathOf(key);
    // Opened before answering, so a missing key rejects here rather than as a stream error later.
    let handle: FileHandle;
    try {
      handle = await fs.open(p, 'r');
    } catch (e) {
      if (isMissing(e)) throw new BlobNotFoundError(key, { cause: e });
      throw e;
    }
    try {
      // A directory (the parent of other keys) is not a blob.
      if (!(await handle.stat()).isFile()) throw new BlobNotFoundError(key);
    } catch (e) {
      await handle.close();
      throw e;
    }
    return handle.createReadStream();
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const st = await fs.stat(this.pathOf(key));
      return st.isFile() ? { bytes: st.size, modifiedAt: st.mtime } : null;
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.pathOf(key);
    try {
      await fs.unlink(p);
    } catch (e) {
      if (isMissing(e)) return;
      // A directory (the parent of other keys) is no blob: nothing to delete, as on S3. (EISDIR, or EPERM on macOS.)
      if ((await fs.stat(p).catch(() => null))?.isDirectory()) return;
      throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const dir = this.dirOf(prefix);
    let count = 0;
    for await (const _ of walkFiles(dir)) count += 1;
    await fs.rm(dir, { recursive: true, force: true });
    return count;
  }

  async localFile(key: string): Promise<LocalBlob> {
    if ((await this.stat(key)) === null) throw new BlobNotFoundError(key);
    return { path: this.pathOf(key), release: async () => {} };
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    for await (const full of walkFiles(this.dirOf(prefix))) {
      const key = path.relative(this.root, full).split(path.sep).join('/');
      try {
        const st = await fs.stat(full);
        yield { key, bytes: st.size, modifiedAt: st.mtime };
      } catch (e) {
        // Deleted while the listing ran.
        if (!isMissing(e)) throw e;
      }
    }
  }

  async ping(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    // Random: readiness probes may run concurrently.
    const probe = path.join(this.root, `.ready-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.writeFile(probe, 'ok');
    const back = await fs.readFile(probe, 'utf8');
    await fs.rm(probe, { force: true });
    if (back !== 'ok') throw new Error('blob store read-back mismatch');
  }
}

/** ENOTDIR too: `a/b/c` when `a/b` is a file holds no blob either. */
function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Every file under dir, depth first, one directory handle open per level: memory stays flat however many files an
 * area holds (a recursive readdir would hold the whole listing at once). A missing dir yields nothing.
 */
async function* walkFiles(dir: string): AsyncGenerator<string> {
  let handle: Dir;
  try {
    handle = await fs.opendir(dir);
  } catch (e) {
    if (isMissing(e)) return;
    throw e;
  }
  // for-await closes the handle, also when the consumer stops early.
  for await (const entry of handle) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walkFiles(full);
    else if (entry.isFile()) yield full;
  }
}
