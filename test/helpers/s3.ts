import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig, type BlobsConfig } from '../../src/config.js';

/**
 * s3rver's filesystem store answers a PUT when the bytes have passed its hashing transform, before its file write
 * stream has finished, so a HEAD right after the answer can see the object with 0 bytes (Weir's putFile checks the
 * stored size and, rightly, fails). Real S3 has read-after-write consistency; this makes the test double keep it by
 * resolving only once the object's file is written.
 */
const ACKNOWLEDGE_AFTER_WRITE = `
{
  const path = require('node:path');
  const fs = require('node:fs');
  const crypto = require('node:crypto');
  const { Readable, Transform } = require('node:stream');
  const { pipeline } = require('node:stream/promises');
  const FilesystemStore = require(path.join(path.dirname(main), 'stores', 'filesystem.js'));
  FilesystemStore.prototype.putObject = async function (object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
    const hash = crypto.createHash('md5');
    let size = 0;
    const counter = new Transform({
      transform(chunk, encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    await pipeline(source, counter, fs.createWriteStream(objectPath));
    const md5 = hash.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size, md5 };
  };
}
`;

/**
 * s3rver runs in a child process of its own because it signs ListObjectsV2 continuation tokens with DES, which
 * Node's OpenSSL 3 only offers with --openssl-legacy-provider: in this process any listing of more than one page
 * would fail with InternalError. The child prints its port, and exits when its stdin closes (so it never outlives
 * the test process).
 */
const CHILD = `
const [main, directory, bucket] = process.argv.slice(1);
const S3rver = require(main);
${ACKNOWLEDGE_AFTER_WRITE}
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (e) => { console.error(e); process.exit(1); },
);
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;
const S3RVER_MAIN = createRequire(import.meta.url).resolve('s3rver');

export interface TestS3 {
  /** WEIR_S3_* variables that point a Weir config at this server's bucket. */
  env: Record<string, string>;
  config: Extract<BlobsConfig, { driver: 's3' }>;
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

/**
 * An S3-compatible server (the npm s3rver) on a loopback port with a fresh directory and one bucket of a random
 * name. It checks SigV4 signatures against its fixed key pair S3RVER/S3RVER.
 */
export async function startS3Server(opts: { keyPrefix?: string } = {}): Promise<TestS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 'weir-s3-'));
  const bucket = `weir-${randomBytes(6).toString('hex')}`;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD, S3RVER_MAIN, directory, bucket], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const fail = async (e: unknown): Promise<never> => {
    await stop();
    await rm(directory, { recursive: true, force: true });
    throw e;
  };
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
  }).catch(fail);
  const endpoint = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    WEIR_S3_ENDPOINT: endpoint,
    WEIR_S3_BUCKET: bucket,
    WEIR_S3_REGION: 'us-east-1',
    WEIR_S3_ACCESS_KEY_ID: 'S3RVER',
    WEIR_S3_SECRET_ACCESS_KEY: 'S3RVER',
    WEIR_S3_FORCE_PATH_STYLE: 'true',
    ...(opts.keyPrefix ? { WEIR_S3_PREFIX: opts.keyPrefix } : {}),
  };
  // Through the real config parser, so the tests also cover what WEIR_S3_* turns into.
  const blobs = loadConfig({ ...env, WEIR_DATA_DIR: directory }).blobs;
  if (blobs.driver !== 's3') return fail(new Error('WEIR_S3_* did not select the s3 blob driver'));
  let closed = false;
  return {
    env,
    config: blobs,
    endpoint,
    bucket,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
