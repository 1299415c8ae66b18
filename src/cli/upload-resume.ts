import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PreviousUpload, UrlStorage } from 'tus-js-client';

/**
 * What `weir upload --resume <file>` needs to continue a tus upload after Ctrl-C, a crash or a network outage that
 * outlasted the retries: the upload URL, kept per file in `<configDir>/uploads/`.
 */

export interface ResumeRecord {
  v: 1;
  uploadUrl: string;
  /** Absolute path. */
  file: string;
  size: number;
  mtimeMs: number;
  /** serverKey() of the server URL. */
  server: string;
  /** The --workspace / WEIR_WORKSPACE it was sent to; null = the caller's default workspace. */
  workspace: string | null;
  createdAt: string;
}

/** What identifies one upload of one file: a file that changed (size, mtime) is a different upload. */
export type RecordIdentity = Pick<ResumeRecord, 'file' | 'size' | 'mtimeMs' | 'server' | 'workspace'>;

function isRecord(v: unknown): v is ResumeRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    r.v === 1 &&
    typeof r.uploadUrl === 'string' &&
    typeof r.file === 'string' &&
    typeof r.size === 'number' &&
    typeof r.mtimeMs === 'number' &&
    typeof r.server === 'string' &&
    (r.workspace === null || typeof r.workspace === 'string') &&
    typeof r.createdAt === 'string'
  );
}

const KEY_FILE = /^[0-9a-f]{40}\.json$/;

/**
 * One file per upload, `<dir>/<key>.json`, so concurrent `weir upload`s never contend: directory 0700, files 0600
 * (an upload URL and a token are write access to the upload), replaced whole by temp file + rename.
 */
export class ResumeRecords {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly dir: string) {}

  static key(id: RecordIdentity): string {
    return createHash('sha256')
      .update(JSON.stringify([id.file, id.size, id.mtimeMs, id.server, id.workspace]))
      .digest('hex')
      .slice(0, 40);
  }

  private fileOf(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  async get(key: string): Promise<ResumeRecord | undefined> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.fileOf(key), 'utf8'));
      return isRecord(parsed) ? parsed : undefined;
    } catch (e) {
      // A record cut short or edited by hand is no record: the upload starts over.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  put(key: string, record: ResumeRecord): Promise<void> {
    return this.track(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${this.fileOf(key)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
        await rename(tmp, this.fileOf(key));
      } catch (e) {
        await unlink(tmp).catch(() => {});
        throw e;
      }
    });
  }

  remove(key: string): Promise<void> {
    return this.track(() =>
      unlink(this.fileOf(key)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      }),
    );
  }

  /** Records of this path on this server and workspace whatever its size and mtime: left by a file that has changed since. */
  async forPath(id: Pick<ResumeRecord, 'file' | 'server' | 'workspace'>): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const keys: string[] = [];
    for (const name of names.filter((n) => KEY_FILE.test(n))) {
      const key = name.slice(0, -'.json'.length);
      const r = await this.get(key).catch(() => undefined);
      if (r && r.file === id.file && r.server === id.server && r.workspace === id.workspace) keys.push(key);
    }
    return keys;
  }

  /** Resolves once every write and removal started so far has ended (before the process exits). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /**
   * tus-js-client's URL storage over these records, the record key as fingerprint. tus-js-client saves the upload
   * URL right after creation and before the first PATCH, so an upload that has sent any byte can be resumed.
   */
  urlStorage(identity: RecordIdentity): UrlStorage {
    return {
      findAllUploads: () => Promise.resolve([]),
      findUploadsByFingerprint: async (key): Promise<PreviousUpload[]> => {
        const r = await this.get(key);
        return r
          ? [
              {
                size: r.size,
                metadata: {},
                creationTime: r.createdAt,
                urlStorageKey: key,
                uploadUrl: r.uploadUrl,
                parallelUploadUrls: null,
              },
            ]
          : [];
      },
      removeUpload: (key) => this.remove(key),
      addUpload: async (key, upload) => {
        if (upload.uploadUrl)
          await this.put(key, { v: 1, uploadUrl: upload.uploadUrl, ...identity, createdAt: new Date().toISOString() });
        return key;
      },
    };
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    const p = fn();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => {});
    return p;
  }
}
