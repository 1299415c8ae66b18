import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Object,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BlobsConfig } from '../config.js';
import type { Scratch } from './scratch.js';
import {
  assertValidKey,
  assertValidPrefix,
  BlobNotFoundError,
  type BlobEntry,
  type BlobStat,
  type BlobStore,
  type LocalBlob,
} from './types.js';

export type S3BlobsConfig = Extract<BlobsConfig, { driver: 's3' }>;

/** Multipart part size and parallel parts: at most PART_BYTES × UPLOAD_QUEUE (64 MiB) of a file is in memory. */
const PART_BYTES = 16 * 1024 * 1024;
const UPLOAD_QUEUE = 4;
/** ListObjectsV2 pages hold at most 1000 keys and DeleteObjects takes at most 1000: one page, one batch. */
const PAGE_KEYS = 1000;
/** A store that does not accept the connection by then is down; the SDK retries (3 attempts in all). */
const CONNECT_TIMEOUT_MS = 5000;
/** The readiness probe gives up after this, whatever the retries are doing (the HTTP check waits 5 s). */
const PING_TIMEOUT_MS = 4500;

/**
 * Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …), each under `keyPrefix` + key. Only core S3 calls
 * are used (Put/Get/Head/Delete object, DeleteObjects, ListObjectsV2, multipart upload), with the request shapes every
 * implementation accepts: no flexible-checksum headers or trailers (WHEN_REQUIRED) and Content-MD5 on DeleteObjects.
 */
export class S3BlobStore implements BlobStore {
  readonly driver = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;

  constructor(
    config: S3BlobsConfig,
    private readonly scratch: Scratch,
  ) {
    this.bucket = config.bucket;
    this.keyPrefix = config.keyPrefix;
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      // Otherwise the SDK's default chain (environment, shared config, web identity, instance or task role).
      ...(config.credentials ? { credentials: config.credentials } : {}),
      forcePathStyle: config.forcePathStyle,
      // The SDK's default (WHEN_SUPPORTED) adds CRC32 headers and aws-chunked trailers that many S3-compatible
      // stores reject; AWS itself does not need them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
    });
    useContentMd5ForDeleteObjects(this.client);
  }

  private wireKey(key: string): string {
    assertValidKey(key);
    return this.keyPrefix + key;
  }

  async putFile(key: string, localPath: string): Promise<BlobStat> {
    const Key = this.wireKey(key);
    const { size } = await fs.stat(localPath);
    const body = createReadStream(localPath, { highWaterMark: 1024 * 1024 });
    try {
      // One PutObject when the file fits in one part, a multipart upload otherwise. ContentLength makes Upload
      // check that exactly that many bytes were sent.
      await new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: body, ContentLength: size },
        partSize: PART_BYTES,
        queueSize: UPLOAD_QUEUE,
      }).done();
    } finally {
      body.destroy();
    }
    const stored = await this.stat(key);
    if (stored?.bytes !== size)
      throw new Error(`blob ${key}: stored ${size} bytes but the store reports ${stored ? stored.bytes : 'no object'}`);
    await fs.rm(localPath, { force: true });
    return stored;
  }

  async read(key: string): Promise<Readable> {
    const Key = this.wireKey(key);
    let body: unknown;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }))).Body;
    } catch (e) {
      if (isMissing(e)) throw new BlobNotFoundError(key, { cause: e });
      throw e;
    }
    // In Node the SDK answers the HTTP response itself (an IncomingMessage).
    if (!(body instanceof Readable)) throw new Error(`blob ${key}: the S3 client returned no readable stream`);
    return body;
  }

  async stat(key: string): Promise<BlobStat | null> {
    const Key = this.wireKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { bytes: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (e) {
      // HEAD has no error body: a missing bucket is a 404 too (ping reports that one).
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.wireKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      // S3 answers 204 for a missing key; some compatible stores answer 404.
      if (!isMissing(e)) throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    let count = 0;
    // Continuation tokens point past the last key listed, so deleting a page does not disturb the next one.
    for await (const page of this.pages(this.keyPrefix + prefix)) {
      const keys = page.flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
      if (keys.length === 0) continue;
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (out.Errors ?? []).filter((err) => err.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new Error(
          `deleting ${prefix}: ${failed.length} of ${keys.length} objects not deleted (${first.Key}: ${first.Code} ${first.Message ?? ''})`.trim(),
        );
      }
      count += keys.length;
    }
    return count;
  }

  async localFile(key: string): Promise<LocalBlob> {
    const body = await this.read(key);
    // The key's extension (`.parquet`) kept: DuckDB and format sniffing may go by it.
    const file = this.scratch.file(path.posix.extname(key));
    try {
      await pipeline(body, createWriteStream(file, { flags: 'wx' }));
    } catch (e) {
      await this.scratch.remove(file);
      throw e;
    }
    return { path: file, release: () => this.scratch.remove(file) };
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    assertValidPrefix(prefix);
    for await (const page of this.pages(this.keyPrefix + prefix)) {
      for (const o of page) {
        // A key ending in '/' is a "folder" marker some consoles create, not a blob (the local driver has none).
        if (o.Key === undefined || o.Key.endsWith('/')) continue;
        yield {
          key: o.Key.slice(this.keyPrefix.length),
          bytes: o.Size ?? 0,
          modifiedAt: o.LastModified ?? new Date(0),
        };
      }
    }
  }

  async ping(): Promise<void> {
    const key = `cache/.ping-${process.pid}-${randomBytes(6).toString('hex')}`;
    const Key = this.wireKey(key);
    const abortSignal = AbortSignal.timeout(PING_TIMEOUT_MS);
    const token = randomBytes(8).toString('hex');
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: token }), { abortSignal });
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }), { abortSignal });
      const back = await out.Body?.transformToString();
      if (back !== token) throw new Error('blob store read-back mismatch');
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }), { abortSignal });
    }
  }

  /** Every object under a full (wire) prefix, one ListObjectsV2 page at a time. */
  private async *pages(wirePrefix: string): AsyncGenerator<_Object[]> {
    let ContinuationToken: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: wirePrefix, MaxKeys: PAGE_KEYS, ContinuationToken }),
      );
      yield (out.Contents ?? []).filter((o) => o.Key?.startsWith(wirePrefix));
      ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }
}

/** NoSuchKey (GET), NotFound (HEAD) or any other 404 except a missing bucket, which is a configuration error. */
function isMissing(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound') return true;
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404 && e.name !== 'NoSuchBucket';
}

/**
 * DeleteObjects is the one call here that S3 requires a body checksum for. The SDK now sends CRC32
 * (x-amz-checksum-crc32) there even under WHEN_REQUIRED; AWS accepts it, but older MinIO releases, some Ceph RGW
 * versions and other compatible stores answer MissingContentMD5. Content-MD5 is what every implementation, AWS included,
 * accepts, so it replaces the flexible-checksum headers on that call (as the SDK's MD5_FALLBACK guide does). Build
 * step, low priority: after the SDK's checksum middleware, before signing.
 */
function useContentMd5ForDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'DeleteObjectsCommand') return next(args);
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const headers = request.headers;
      if (!headers || (typeof request.body !== 'string' && !(request.body instanceof Uint8Array))) return next(args);
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        if (lower.startsWith('x-amz-checksum-') || lower.startsWith('x-amz-sdk-checksum-') || lower === 'content-md5')
          delete headers[name];
      }
      headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'weirContentMd5ForDeleteObjects', override: true },
  );
}
