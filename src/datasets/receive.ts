import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors } from '../errors.js';
import { HEAD_BYTES } from './sniff.js';

/** An upload written to scratch space, with what was learned while it streamed past. */
export interface ReceivedFile {
  path: string;
  filename: string;
  bytes: number;
  /** Hex SHA-256 of the bytes as sent. */
  sha256: string;
  /** The first HEAD_BYTES bytes, for sniffing. */
  head: Buffer;
  /** Byte offset of the first NUL byte, or -1. */
  firstNul: number;
}

/**
 * What a file's bytes tell as they go past, one chunk at a time: the SHA-256, the byte count, the first NUL byte
 * and the head sample the sniffers read. Shared by the plain upload (while it streams in) and the tus ingest
 * (one pass over the assembled file).
 */
export class FileDigest {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  private firstNul = -1;

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    if (this.firstNul === -1) {
      const at = chunk.indexOf(0);
      if (at !== -1) this.firstNul = this.bytes + at;
    }
    if (this.headLength < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headLength);
      this.headChunks.push(Buffer.from(part));
      this.headLength += part.length;
    }
    this.bytes += chunk.length;
  }

  /** The file as received at `path`; call once, after the last chunk. */
  received(path: string, filename: string): ReceivedFile {
    return {
      path,
      filename,
      bytes: this.bytes,
      sha256: this.hash.digest('hex'),
      head: Buffer.concat(this.headChunks),
      firstNul: this.firstNul,
    };
  }
}

/**
 * Streams an upload to `dest`, hashing and counting on the way, never holding more than one chunk in memory.
 * Exceeding `maxBytes` aborts with 413 (the caller removes the partial file).
 */
export async function receiveToFile(
  source: Readable,
  dest: string,
  filename: string,
  maxBytes: number,
): Promise<ReceivedFile> {
  const digest = new FileDigest();
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (digest.bytes + chunk.length > maxBytes) {
        done(errors.payloadTooLarge(maxBytes, 'file'));
        return;
      }
      digest.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(dest));
  // @fastify/multipart marks a stream it cut at its own fileSize limit instead of failing it.
  if ((source as Readable & { truncated?: boolean }).truncated) throw errors.payloadTooLarge(maxBytes, 'file');
  return digest.received(dest, filename);
}

/** The first `bytes` bytes of a file (fewer when it is shorter). */
export async function readFileHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
