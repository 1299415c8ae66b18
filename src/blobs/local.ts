import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncPath } from './scratch.js';
import { assertValidKey, type BlobStat, type BlobStore, type LocalBlob } from './types.js';

/** Blobs as files under one root directory. Writes are durable: the file and its directory are fsynced. */
export class LocalBlobStore implements BlobStore {
  readonly driver = 'local' as const;

  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
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
    await fs.access(p);
    return createReadStream(p);
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const st = await fs.stat(this.pathOf(key));
      return { bytes: st.size, modifiedAt: st.mtime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new Error(`blob prefix must end with '/': ${prefix}`);
    const dir = this.pathOf(prefix.slice(0, -1));
    let count = 0;
    try {
      const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
      count = entries.filter((e) => e.isFile()).length;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    await fs.rm(dir, { recursive: true, force: true });
    return count;
  }

  async localFile(key: string): Promise<LocalBlob> {
    const p = this.pathOf(key);
    await fs.access(p);
    return { path: p, release: async () => {} };
  }

  async ping(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    const probe = path.join(this.root, `.ready-${process.pid}`);
    await fs.writeFile(probe, 'ok');
    const back = await fs.readFile(probe, 'utf8');
    await fs.rm(probe, { force: true });
    if (back !== 'ok') throw new Error('blob store read-back mismatch');
  }
}
