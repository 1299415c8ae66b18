import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
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
 * Streams an upload to `dest`, hashing and counting on the way, never holding more than one chunk in memory.
 * Exceeding `maxBytes` aborts with 413 (the caller removes the partial file).
 */
export async function receiveToFile(source: Readable, dest: string, filename: string, maxBytes: number): Promise<ReceivedFile> {
  const hash = createHash('sha256');
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let bytes = 0;
  let firstNul = -1;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (bytes + chunk.length > maxBytes) {
        done(errors.payloadTooLarge(maxBytes, 'file'));
        return;
      }
      hash.update(chunk);
      if (firstNul === -1) {
        const at = chunk.indexOf(0);
        if (at !== -1) firstNul = bytes + at;
      }
      if (headLength < HEAD_BYTES) {
        const part = chunk.subarray(0, HEAD_BYTES - headLength);
        headChunks.push(Buffer.from(part));
        headLength += part.length;
      }
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(dest));
  // @fastify/multipart marks a stream it cut at its own fileSize limit instead of failing it.
  if ((source as Readable & { truncated?: boolean }).truncated) throw errors.payloadTooLarge(maxBytes, 'file');
  return { path: dest, filename, bytes, sha256: hash.digest('hex'), head: Buffer.concat(headChunks), firstNul };
}
