import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat as fsStat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/blobs/local.js';
import { S3BlobStore } from '../src/blobs/s3.js';
import { Scratch } from '../src/blobs/scratch.js';
import { BlobNotFoundError, type BlobStore } from '../src/blobs/types.js';
import { startS3Server, type TestS3 } from './helpers/s3.js';

/**
 * One conformance suite for every BlobStore driver, each on a real backend: a directory, and an S3 server (s3rver)
 * on loopback. What domain code may rely on is exactly what passes here for both.
 */

interface Harness {
  store: BlobStore;
  /** Where test files are written before putFile takes them. */
  dir: string;
  scratch: Scratch;
  /** What the key of a blob looks like in the backend itself (S3: the bucket key, keyPrefix included). */
  keyPrefix: string;
  /** Every key the backend holds, as the backend names it. */
  rawKeys(): Promise<string[]>;
  close(): Promise<void>;
}

async function localHarness(): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weir-blobs-'));
  const root = path.join(dir, 'blobs');
  const scratch = new Scratch(path.join(dir, 'tmp'));
  await scratch.reset();
  return {
    store: new LocalBlobStore(root),
    dir,
    scratch,
    keyPrefix: '',
    async rawKeys() {
      const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      return entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function s3Harness(): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weir-blobs-'));
  const scratch = new Scratch(path.join(dir, 'tmp'));
  await scratch.reset();
  // A key prefix throughout: the harder case (the app-level tests in S3 mode run without one).
  const s3 = await startS3Server({ keyPrefix: 'deploy-1/' });
  const raw = rawClient(s3);
  return {
    store: new S3BlobStore(s3.config, scratch),
    dir,
    scratch,
    keyPrefix: 'deploy-1/',
    rawKeys: () => bucketKeys(raw, s3.bucket),
    async close() {
      raw.destroy();
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function rawClient(s3: TestS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function bucketKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken }));
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function streamSha256(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listed(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of store.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

describe.each([
  { driver: 'local', start: localHarness },
  { driver: 's3', start: s3Harness },
])('BlobStore conformance: $driver', ({ driver, start }) => {
  let h: Harness;
  let n = 0;
  /** A file in the test directory with this content, ready to hand to putFile. */
  const file = async (content: Buffer | string): Promise<string> => {
    const p = path.join(h.dir, `f${(n += 1)}`);
    await writeFile(p, content);
    return p;
  };
  const put = async (key: string, content: Buffer | string) => h.store.putFile(key, await file(content));

  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('names its driver', () => {
    expect(h.store.driver).toBe(driver);
  });

  it('putFile stores the file, takes ownership of it and answers its size; stat and read agree', async () => {
    const before = Date.now();
    const src = await file('hello, blobs\n');
    const stored = await h.store.putFile('datasets/ws_a/ds_1/dv_1.parquet', src);
    expect(stored.bytes).toBe(13);
    expect(stored.modifiedAt).toBeInstanceOf(Date);
    // S3 keeps whole seconds.
    expect(stored.modifiedAt.getTime()).toBeGreaterThan(before - 5000);
    expect(existsSync(src)).toBe(false);
    const st = await h.store.stat('datasets/ws_a/ds_1/dv_1.parquet');
    expect(st).toEqual({ bytes: 13, modifiedAt: expect.any(Date) });
    expect(Math.abs(st!.modifiedAt.getTime() - stored.modifiedAt.getTime())).toBeLessThan(2000);
    expect(await text(await h.store.read('datasets/ws_a/ds_1/dv_1.parquet'))).toBe('hello, blobs\n');
  });

  it('stores an empty file', async () => {
    expect((await put('cache/empty', '')).bytes).toBe(0);
    expect(await h.store.stat('cache/empty')).toMatchObject({ bytes: 0 });
    expect(await text(await h.store.read('cache/empty'))).toBe('');
  });

  it('putFile replaces what a key held', async () => {
    await put('cache/replace', 'first version');
    expect((await put('cache/replace', 'second')).bytes).toBe(6);
    expect(await text(await h.store.read('cache/replace'))).toBe('second');
  });

  it('delete removes a blob and is idempotent', async () => {
    await put('exports/ws_a/x.csv', 'a,b\n');
    await h.store.delete('exports/ws_a/x.csv');
    expect(await h.store.stat('exports/ws_a/x.csv')).toBeNull();
    await expect(h.store.read('exports/ws_a/x.csv')).rejects.toBeInstanceOf(BlobNotFoundError);
    await h.store.delete('exports/ws_a/x.csv');
  });

  it('missing keys: stat is null, read and localFile reject with BlobNotFoundError, delete is fine', async () => {
    expect(await h.store.stat('models/ws_a/nothing')).toBeNull();
    const err = await h.store.read('models/ws_a/nothing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobNotFoundError);
    expect(err).toMatchObject({ code: 'ENOENT', key: 'models/ws_a/nothing' });
    await expect(h.store.localFile('models/ws_a/nothing')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(h.store.localFile('models/ws_a/nothing')).rejects.toMatchObject({
      code: 'ENOENT',
      key: 'models/ws_a/nothing',
    });
    await h.store.delete('models/ws_a/nothing');
  });

  it('a key that only prefixes other keys (a "directory") is no blob', async () => {
    await put('models/ws_dir/inner/blob.bin', 'x');
    expect(await h.store.stat('models/ws_dir/inner')).toBeNull();
    await expect(h.store.read('models/ws_dir/inner')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(h.store.localFile('models/ws_dir/inner')).rejects.toBeInstanceOf(BlobNotFoundError);
    await h.store.delete('models/ws_dir/inner');
    expect(await h.store.stat('models/ws_dir/inner/blob.bin')).toMatchObject({ bytes: 1 });
    // Below a blob there is nothing.
    expect(await h.store.stat('models/ws_dir/inner/blob.bin/deeper')).toBeNull();
    expect(await listed(h.store, 'models/ws_dir/inner/blob.bin/')).toEqual([]);
  });

  it('rejects invalid keys and prefixes on every call', async () => {
    const src = await file('x');
    for (const key of [
      '',
      'datasets',
      'datasets/',
      'secrets/x',
      '/datasets/x',
      'datasets//x',
      'datasets/../x',
      'datasets/./x',
      'datasets/a b',
      'datasets/x\\y',
      '../etc/passwd',
    ]) {
      await expect(h.store.putFile(key, src), key).rejects.toThrow(/invalid blob key/);
      await expect(h.store.read(key), key).rejects.toThrow(/invalid blob key/);
      await expect(h.store.stat(key), key).rejects.toThrow(/invalid blob key/);
      await expect(h.store.delete(key), key).rejects.toThrow(/invalid blob key/);
      await expect(h.store.localFile(key), key).rejects.toThrow(/invalid blob key/);
    }
    expect(existsSync(src)).toBe(true);
    for (const prefix of ['datasets', 'uploads/ws_a', '', '/', 'secrets/', 'uploads//', 'uploads/../']) {
      await expect(listed(h.store, prefix), prefix).rejects.toThrow(/blob prefix/);
      await expect(h.store.deletePrefix(prefix), prefix).rejects.toThrow(/blob prefix/);
    }
  });

  it('list yields every blob under a prefix, nested ones included, with sizes', async () => {
    await put('uploads/ws_l/up_1', 'one');
    await put('uploads/ws_l/up_2/p0-5', 'two!!');
    await put('uploads/ws_l/up_2/deeper/still/p5-9', 'four');
    const entries = [];
    for await (const e of h.store.list('uploads/ws_l/')) entries.push(e);
    entries.sort((a, b) => a.key.localeCompare(b.key));
    expect(entries).toEqual([
      { key: 'uploads/ws_l/up_1', bytes: 3, modifiedAt: expect.any(Date) },
      { key: 'uploads/ws_l/up_2/deeper/still/p5-9', bytes: 4, modifiedAt: expect.any(Date) },
      { key: 'uploads/ws_l/up_2/p0-5', bytes: 5, modifiedAt: expect.any(Date) },
    ]);
    expect(await listed(h.store, 'uploads/ws_l/up_2/')).toEqual([
      'uploads/ws_l/up_2/deeper/still/p5-9',
      'uploads/ws_l/up_2/p0-5',
    ]);
    // A whole area.
    expect(await listed(h.store, 'uploads/')).toEqual(
      expect.arrayContaining(['uploads/ws_l/up_1', 'uploads/ws_l/up_2/p0-5']),
    );
  });

  it('list of a prefix with nothing under it is empty', async () => {
    expect(await listed(h.store, 'logs/ws_none/')).toEqual([]);
    expect(await listed(h.store, 'logs/')).toEqual([]);
  });

  it('a prefix matches whole key segments: uploads/ws_a/ does not match uploads/ws_ab/x', async () => {
    await put('uploads/ws_a/x', 'a');
    await put('uploads/ws_ab/x', 'ab');
    expect(await listed(h.store, 'uploads/ws_a/')).toEqual(['uploads/ws_a/x']);
    expect(await listed(h.store, 'uploads/ws_ab/')).toEqual(['uploads/ws_ab/x']);
  });

  it('list pages through more than 1000 blobs', async () => {
    const keys = Array.from({ length: 1003 }, (_, i) => `logs/ws_many/l${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((k) => put(k, k)));
    expect(await listed(h.store, 'logs/ws_many/')).toEqual(keys);
    // An early stop releases the listing (no error, nothing left open).
    for await (const entry of h.store.list('logs/ws_many/')) {
      expect(entry.key.startsWith('logs/ws_many/')).toBe(true);
      break;
    }
    expect(await h.store.deletePrefix('logs/ws_many/')).toBe(1003);
    expect(await listed(h.store, 'logs/ws_many/')).toEqual([]);
  }, 60_000);

  it('deletePrefix deletes everything under the prefix only and answers how many', async () => {
    await put('datasets/ws_d/ds_1/dv_1.parquet', '1');
    await put('datasets/ws_d/ds_1/dv_2.parquet', '2');
    await put('datasets/ws_d/ds_2/dv_3.parquet', '3');
    await put('datasets/ws_dx/ds_1/dv_1.parquet', 'sibling');
    expect(await h.store.deletePrefix('datasets/ws_d/ds_1/')).toBe(2);
    expect(await listed(h.store, 'datasets/ws_d/')).toEqual(['datasets/ws_d/ds_2/dv_3.parquet']);
    expect(await h.store.deletePrefix('datasets/ws_d/')).toBe(1);
    expect(await h.store.deletePrefix('datasets/ws_d/')).toBe(0);
    expect(await h.store.deletePrefix('datasets/ws_never/')).toBe(0);
    expect(await listed(h.store, 'datasets/ws_dx/')).toEqual(['datasets/ws_dx/ds_1/dv_1.parquet']);
  });

  it('deletePrefix of a whole area', async () => {
    await put('exports/ws_e/a.csv', 'a');
    await put('exports/ws_f/b/c.csv', 'b');
    expect(await h.store.deletePrefix('exports/')).toBeGreaterThanOrEqual(2);
    expect(await listed(h.store, 'exports/')).toEqual([]);
  });

  it('localFile materializes a blob as a readable local file until release()', async () => {
    await put('datasets/ws_lf/ds_1/dv_1.parquet', 'local copy');
    const blob = await h.store.localFile('datasets/ws_lf/ds_1/dv_1.parquet');
    expect(path.extname(blob.path)).toBe('.parquet');
    expect(await text(createReadStream(blob.path))).toBe('local copy');
    // Two holders at once each get a usable file.
    const second = await h.store.localFile('datasets/ws_lf/ds_1/dv_1.parquet');
    await blob.release();
    expect(await text(createReadStream(second.path))).toBe('local copy');
    await second.release();
    await second.release();
    expect(await h.store.stat('datasets/ws_lf/ds_1/dv_1.parquet')).toMatchObject({ bytes: 10 });
    if (driver === 's3') {
      // A download into scratch, gone once released.
      expect(blob.path.startsWith(h.scratch.dir)).toBe(true);
      expect(existsSync(blob.path)).toBe(false);
      expect(await readdir(h.scratch.dir)).toEqual([]);
    }
  });

  it('round-trips a 40 MB file (multipart on S3) byte for byte', async () => {
    const data = randomBytes(40 * 1024 * 1024);
    const digest = sha256(data);
    const src = await file(data);
    const stored = await h.store.putFile('models/ws_big/mdl_1.bin', src);
    expect(stored.bytes).toBe(data.length);
    expect(existsSync(src)).toBe(false);
    expect(await h.store.stat('models/ws_big/mdl_1.bin')).toMatchObject({ bytes: data.length });
    expect(await streamSha256(await h.store.read('models/ws_big/mdl_1.bin'))).toBe(digest);
    const blob = await h.store.localFile('models/ws_big/mdl_1.bin');
    try {
      expect((await fsStat(blob.path)).size).toBe(data.length);
      expect(await streamSha256(createReadStream(blob.path))).toBe(digest);
    } finally {
      await blob.release();
    }
    await h.store.delete('models/ws_big/mdl_1.bin');
  }, 60_000);

  it('stores each key under the configured key prefix, and list strips it', async () => {
    await put('cache/ws_p/entry.json', '{}');
    const raw = await h.rawKeys();
    expect(raw).toContain(`${h.keyPrefix}cache/ws_p/entry.json`);
    expect(raw.every((k) => k.startsWith(h.keyPrefix))).toBe(true);
    expect(await listed(h.store, 'cache/ws_p/')).toEqual(['cache/ws_p/entry.json']);
  });

  it('ping writes, reads back and deletes a probe, leaving nothing behind', async () => {
    const before = await h.rawKeys();
    await Promise.all([h.store.ping(), h.store.ping(), h.store.ping()]);
    expect((await h.rawKeys()).sort()).toEqual(before.sort());
  });
});

/** A loopback HTTP proxy in front of an S3 server that records every request (small bodies included). */
async function recordingProxy(target: string): Promise<{
  endpoint: string;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[];
  close(): Promise<void>;
}> {
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const upstream = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      if (kept < 65536) chunks.push(chunk);
      kept += chunk.length;
    });
    req.on('end', () =>
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      }),
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('S3 driver against the wire', () => {
  let s3: TestS3;
  let dir: string;
  let scratch: Scratch;

  beforeAll(async () => {
    s3 = await startS3Server();
    dir = await mkdtemp(path.join(tmpdir(), 'weir-blobs-'));
    scratch = new Scratch(path.join(dir, 'tmp'));
    await scratch.reset();
  });
  afterAll(async () => {
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends no flexible-checksum headers or aws-chunked bodies, uses multipart for big files and Content-MD5 on DeleteObjects', async () => {
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const store = new S3BlobStore({ ...s3.config, endpoint: proxy.endpoint }, scratch);
      const small = path.join(dir, 'small');
      await writeFile(small, 'small');
      await store.putFile('uploads/ws_w/up_1', small);
      const big = path.join(dir, 'big');
      await writeFile(big, randomBytes(20 * 1024 * 1024));
      await store.putFile('uploads/ws_w/up_2', big);
      expect(await store.deletePrefix('uploads/ws_w/')).toBe(2);

      for (const r of proxy.requests) {
        const names = Object.keys(r.headers);
        expect(
          names.filter((h) => h.startsWith('x-amz-checksum-') || h === 'x-amz-trailer'),
          `${r.method} ${r.url}`,
        ).toEqual([]);
        expect(r.headers['content-encoding'] ?? '', `${r.method} ${r.url}`).not.toContain('aws-chunked');
        expect(r.headers['x-amz-content-sha256'] ?? '', `${r.method} ${r.url}`).not.toMatch(/^STREAMING-/);
      }
      const parts = proxy.requests.filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url));
      expect(parts.map((r) => Number(r.headers['content-length']))).toEqual(
        expect.arrayContaining([16 * 1024 * 1024, 4 * 1024 * 1024]),
      );
      expect(parts).toHaveLength(2);
      const deletes = proxy.requests.filter((r) => r.method === 'POST' && /[?&]delete(=|&|$)/.test(r.url));
      // One DeleteObjects call (the SDK may send it again after a transient failure on a loaded machine: each
      // attempt must carry its MD5).
      expect(deletes.length).toBeGreaterThanOrEqual(1);
      for (const del of deletes) {
        expect(del.headers['content-md5']).toBe(createHash('md5').update(del.body).digest('base64'));
        expect(Object.keys(del.headers).filter((h) => h.startsWith('x-amz-sdk-checksum-'))).toEqual([]);
      }
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('deployments sharing a bucket under different key prefixes do not see each other', async () => {
    const a = new S3BlobStore({ ...s3.config, keyPrefix: 'a/' }, scratch);
    const b = new S3BlobStore({ ...s3.config, keyPrefix: 'b/' }, scratch);
    const f = path.join(dir, 'shared');
    await writeFile(f, 'mine');
    await a.putFile('datasets/ws_s/ds_1/dv_1.parquet', f);
    expect(await listed(b, 'datasets/')).toEqual([]);
    expect(await b.stat('datasets/ws_s/ds_1/dv_1.parquet')).toBeNull();
    expect(await b.deletePrefix('datasets/')).toBe(0);
    expect(await listed(a, 'datasets/')).toEqual(['datasets/ws_s/ds_1/dv_1.parquet']);
  });

  it('ping rejects when the bucket does not exist', async () => {
    const store = new S3BlobStore({ ...s3.config, bucket: 'weir-no-such-bucket' }, scratch);
    await expect(store.ping()).rejects.toThrow();
  });

  it('ping rejects within seconds when the endpoint is unreachable', async () => {
    // A loopback port that was just free: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const store = new S3BlobStore({ ...s3.config, endpoint: `http://127.0.0.1:${port}` }, scratch);
    const started = Date.now();
    await expect(store.ping()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
