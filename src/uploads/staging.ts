import { createReadStream, createWriteStream } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fsyncPath, type Scratch } from '../blobs/scratch.js';
import type { BlobStore, LocalBlob } from '../blobs/types.js';
import { readFileHead } from '../datasets/receive.js';

/**
 * Where the bytes of an unfinished upload live, between PATCH requests and across restarts. The committed
 * offset in the `uploads` row is the truth: a staging store may hold bytes past it (a write that crashed before
 * its commit, or one that failed its checksum), and the next write at the committed offset replaces them.
 *
 * Two implementations, chosen with the blob driver:
 * - FileStaging (local blobs): one file per upload at `<blob root>/uploads/<ws>/<id>/data`, written in place
 *   at the offset and fsynced before the commit. No copy ever: the finished file is what the ingest reads.
 * - PartStaging (S3 and any other store): each PATCH becomes one object `uploads/<ws>/<id>/p<start>-<end>`,
 *   so any node can continue an upload another node started; assembling reads the parts in order.
 * Both keep everything of an upload under `uploadPrefix()`, which is what termination and the sweep delete.
 */
export interface StagedRef {
  workspaceId: string;
  id: string;
}

export const uploadPrefix = (u: StagedRef): string => `uploads/${u.workspaceId}/${u.id}/`;

/** One PATCH's worth of bytes being written at `offset`; nothing is visible until `commit()`. */
export interface StagingWrite {
  /** Pipes `source` through `transforms` into the store; resolves with the bytes written, rejects with the stream's error (bytes so far are kept for `commit`). */
  run(source: Readable, transforms: Transform[]): Promise<void>;
  /** Bytes written so far (after a failed `run`, those that reached the store before the failure). */
  readonly bytes: number;
  /** Makes the written bytes durable; afterwards the caller may advance the committed offset by `bytes`. */
  commit(): Promise<void>;
  /** Forgets what was written (checksum mismatch, refused content). */
  discard(): Promise<void>;
}

export interface UploadStaging {
  readonly kind: 'file' | 'parts';
  create(u: StagedRef): Promise<void>;
  write(u: StagedRef, offset: number): Promise<StagingWrite>;
  /** The first `bytes` committed bytes (sniffing); `bytes` must not exceed the committed offset. */
  readHead(u: StagedRef, bytes: number): Promise<Buffer>;
  /** The committed bytes `[0, length)` of the uploads, in order, as one local file to read. */
  materialize(uploads: StagedRef[], lengths: number[]): Promise<LocalBlob>;
  remove(u: StagedRef): Promise<void>;
}

/** Bytes written between background flushes while a PATCH streams in (see `flushing`). */
const FLUSH_EVERY_BYTES = 1024 * 1024;

/**
 * Flushes a file to disk in the background while it is being written, one flush at a time, so that the fsync
 * before the commit finds little left to write: the disk works while the network delivers the next bytes,
 * instead of after the last one. (fsync is per file, so a second descriptor flushes the stream's writes.)
 */
function flushing(target: string): { transform: Transform; finish(): Promise<void> } {
  let handle: FileHandle | null = null;
  let inFlight: Promise<void> | null = null;
  let sinceFlush = 0;
  const flush = () => {
    if (inFlight) return;
    sinceFlush = 0;
    inFlight = (async () => {
      handle ??= await fs.open(target, 'r');
      await handle.datasync();
    })()
      .catch(() => {})
      .finally(() => (inFlight = null));
  };
  const transform = new PassThrough({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, done) {
      sinceFlush += chunk.length;
      if (sinceFlush >= FLUSH_EVERY_BYTES) flush();
      done(null, chunk);
    },
  });
  return {
    transform,
    async finish() {
      await inFlight;
      await handle?.close();
    },
  };
}

/** Counts what the write stream actually wrote, which is what a cut-off request leaves committed. */
function fileWrite(
  target: string,
  offset: number,
  o: { flushWhileWriting: boolean; onCommit(bytes: number): Promise<void>; onDiscard(): Promise<void> },
): StagingWrite {
  let written = 0;
  return {
    get bytes() {
      return written;
    },
    async run(source, transforms) {
      const out = createWriteStream(target, { flags: 'r+', start: offset, highWaterMark: 1024 * 1024 });
      const flusher = o.flushWhileWriting ? flushing(target) : null;
      try {
        await pipeline([source, ...transforms, ...(flusher ? [flusher.transform] : []), out]);
      } finally {
        // A stream destroyed by a failure may still finish the write it had started: only once it closed does
        // bytesWritten say everything that reached the file.
        // (Not events.once: it rejects on the 'error' the destroyed stream emits first.)
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
        written = out.bytesWritten;
        await flusher?.finish();
      }
    },
    commit: () => o.onCommit(written),
    discard: () => o.onDiscard(),
  };
}

export class FileStaging implements UploadStaging {
  readonly kind = 'file' as const;

  constructor(
    private readonly blobRoot: string,
    private readonly scratch: Scratch,
  ) {}

  private fileOf(u: StagedRef): string {
    return path.join(this.blobRoot, 'uploads', u.workspaceId, u.id, 'data');
  }

  async create(u: StagedRef): Promise<void> {
    const file = this.fileOf(u);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '');
    await fsyncPath(path.dirname(file));
  }

  async write(u: StagedRef, offset: number): Promise<StagingWrite> {
    const file = this.fileOf(u);
    await fs.access(file);
    return fileWrite(file, offset, {
      flushWhileWriting: true,
      onCommit: () => fsyncPath(file),
      onDiscard: async () => {},
    });
  }

  readHead(u: StagedRef, bytes: number): Promise<Buffer> {
    return readFileHead(this.fileOf(u), bytes);
  }

  async materialize(uploads: StagedRef[], lengths: number[]): Promise<LocalBlob> {
    const files = uploads.map((u) => this.fileOf(u));
    if (files.length === 1) {
      // Bytes past the committed length (a write that never committed) must not reach the ingest.
      const st = await fs.stat(files[0]!);
      if (st.size > lengths[0]!) await fs.truncate(files[0]!, lengths[0]!);
      return { path: files[0]!, release: async () => {} };
    }
    // Empty parts are skipped: a read stream's `end` is inclusive, so `end: -1` would not mean "nothing".
    const sources = files.flatMap((f, i) =>
      lengths[i]! > 0
        ? [() => createReadStream(f, { start: 0, end: lengths[i]! - 1, highWaterMark: 1024 * 1024 })]
        : [],
    );
    return concatenate(sources, lengths, this.scratch);
  }

  async remove(u: StagedRef): Promise<void> {
    await fs.rm(path.dirname(this.fileOf(u)), { recursive: true, force: true });
  }
}

const pad = (n: number) => String(n).padStart(16, '0');
const PART_RE = /\/p(\d{16})-(\d{16})$/;

export class PartStaging implements UploadStaging {
  readonly kind = 'parts' as const;

  constructor(
    private readonly blobs: BlobStore,
    private readonly scratch: Scratch,
  ) {}

  async create(): Promise<void> {
    // Nothing to prepare: an upload's first part creates its prefix.
  }

  /** The committed chain of parts from 0 to `length`; parts that are not on it are leftovers of uncommitted writes. */
  private async chain(u: StagedRef, length: number): Promise<{ key: string; start: number; end: number }[]> {
    const parts: { key: string; start: number; end: number }[] = [];
    for await (const entry of this.blobs.list(uploadPrefix(u))) {
      const m = PART_RE.exec(entry.key);
      if (m) parts.push({ key: entry.key, start: Number(m[1]), end: Number(m[2]) });
    }
    // Writes at an offset first delete every part starting there or later, so each start has one part.
    const byStart = new Map(parts.map((p) => [p.start, p]));
    const chain = [];
    let at = 0;
    while (at < length) {
      const part = byStart.get(at);
      if (!part || part.end <= at) throw new Error(`upload ${u.id}: no stored part starts at byte ${at}`);
      chain.push(part);
      at = part.end;
    }
    return chain;
  }

  async write(u: StagedRef, offset: number): Promise<StagingWrite> {
    const local = this.scratch.file('.part');
    await fs.writeFile(local, '');
    // The part is durable once the store has it: the local copy needs no flush.
    return fileWrite(local, 0, {
      flushWhileWriting: false,
      onCommit: async (bytes) => {
        if (bytes === 0) {
          await this.scratch.remove(local);
          return;
        }
        for await (const entry of this.blobs.list(uploadPrefix(u))) {
          const m = PART_RE.exec(entry.key);
          if (m && Number(m[1]) >= offset) await this.blobs.delete(entry.key);
        }
        // The part holds exactly the committed range (the local file has no more, but the key must never lie).
        await fs.truncate(local, bytes);
        await this.blobs.putFile(`${uploadPrefix(u)}p${pad(offset)}-${pad(offset + bytes)}`, local);
      },
      onDiscard: () => this.scratch.remove(local),
    });
  }

  async readHead(u: StagedRef, bytes: number): Promise<Buffer> {
    const out: Buffer[] = [];
    let have = 0;
    for (const part of await this.chain(u, bytes)) {
      for await (const chunk of await this.blobs.read(part.key)) {
        out.push(chunk as Buffer);
        have += (chunk as Buffer).length;
        if (have >= bytes) break;
      }
      if (have >= bytes) break;
    }
    return Buffer.concat(out).subarray(0, bytes);
  }

  async materialize(uploads: StagedRef[], lengths: number[]): Promise<LocalBlob> {
    const sources: (() => Promise<Readable>)[] = [];
    for (const [i, u] of uploads.entries()) {
      for (const part of await this.chain(u, lengths[i]!)) sources.push(() => this.blobs.read(part.key));
    }
    return concatenate(sources, lengths, this.scratch);
  }

  async remove(u: StagedRef): Promise<void> {
    await this.blobs.deletePrefix(uploadPrefix(u));
  }
}

/** Streams the sources one after another into a scratch file. */
async function concatenate(
  sources: (() => Readable | Promise<Readable>)[],
  lengths: number[],
  scratch: Scratch,
): Promise<LocalBlob> {
  const target = scratch.file('.upload');
  const out = createWriteStream(target, { highWaterMark: 1024 * 1024 });
  try {
    await pipeline(async function* () {
      for (const open of sources) yield* await open();
    }, out);
    const expected = lengths.reduce((a, b) => a + b, 0);
    const st = await fs.stat(target);
    // A chain's last part may end past the length only if the store holds more than was committed.
    if (st.size > expected) await fs.truncate(target, expected);
    if (st.size < expected) throw new Error(`assembled upload has ${st.size} bytes, expected ${expected}`);
  } catch (e) {
    await scratch.remove(target);
    throw e;
  }
  return { path: target, release: () => scratch.remove(target) };
}
