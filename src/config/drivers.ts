import path from 'node:path';
import { ConfigError, type Env, type Reader } from './reader.js';

/** The drivers a deployment runs on, chosen once from config: metadata database, Redis, blob store. */

export type DatabaseConfig = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string };

export type BlobsConfig =
  | { driver: 'local'; root: string }
  | {
      driver: 's3';
      /** `https://s3.eu-west-1.amazonaws.com`, `http://minio:9000`, …; null = the AWS endpoint of the region. */
      endpoint: string | null;
      bucket: string;
      region: string;
      /** null = the AWS SDK's default credential chain (environment, profile, instance role). */
      credentials: { accessKeyId: string; secretAccessKey: string } | null;
      /** Path-style URLs (`endpoint/bucket/key`): what MinIO, Ceph and most self-hosted stores need. */
      forcePathStyle: boolean;
      /** Prepended to every key, so several deployments can share a bucket (`weir/`, or empty). */
      keyPrefix: string;
    };

export function parseDatabase(raw: string | undefined, dataDir: string): DatabaseConfig {
  if (raw === undefined || raw.trim() === '') return { dialect: 'sqlite', file: path.join(dataDir, 'weir.db') };
  const v = raw.trim();
  if (/^postgres(ql)?:\/\//.test(v)) {
    try {
      new URL(v);
    } catch {
      throw new ConfigError('WEIR_DATABASE_URL', 'a valid postgres://user@host:port/database URL', v);
    }
    return { dialect: 'postgres', url: v };
  }
  if (v.startsWith('sqlite:')) {
    const file = v.replace(/^sqlite:(\/\/)?/, '');
    if (file === '') throw new ConfigError('WEIR_DATABASE_URL', 'sqlite:<path> with a file path', v);
    return { dialect: 'sqlite', file: path.resolve(file) };
  }
  throw new ConfigError('WEIR_DATABASE_URL', 'a postgres://… or sqlite:<path> URL', v);
}

export function parseRedisUrl(raw: string | undefined): string | null {
  const v = raw?.trim();
  if (!v) return null;
  let ok = false;
  try {
    ok = ['redis:', 'rediss:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new ConfigError('WEIR_REDIS_URL', 'a redis://host:port or rediss://… URL', v);
  return v;
}

export function parseBlobs(r: Reader, env: Env, dataDir: string): BlobsConfig {
  const bucket = r.string('WEIR_S3_BUCKET', '');
  const endpoint = r.string('WEIR_S3_ENDPOINT', '');
  if (bucket === '') {
    if (endpoint !== '') throw new ConfigError('WEIR_S3_BUCKET', 'a bucket name when WEIR_S3_ENDPOINT is set', '');
    return { driver: 'local', root: path.join(dataDir, 'blobs') };
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError(
      'WEIR_S3_BUCKET',
      'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
      bucket,
    );
  if (endpoint !== '') {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError('WEIR_S3_ENDPOINT', 'an http(s):// URL such as http://127.0.0.1:9000', endpoint);
  }
  const accessKeyId = env.WEIR_S3_ACCESS_KEY_ID?.trim() ?? '';
  const secretAccessKey = env.WEIR_S3_SECRET_ACCESS_KEY?.trim() ?? '';
  if (!!accessKeyId !== !!secretAccessKey)
    throw new ConfigError(
      accessKeyId ? 'WEIR_S3_SECRET_ACCESS_KEY' : 'WEIR_S3_ACCESS_KEY_ID',
      'to be set together with its pair',
      '',
    );
  const keyPrefix = r.string('WEIR_S3_PREFIX', '');
  // Whole segments: no leading '/', no empty, '.' or '..' segment (`//`, `/weir/`, `../` would name odd keys).
  const prefixOk =
    keyPrefix === '' ||
    (/^([A-Za-z0-9_\-.]+\/)+$/.test(keyPrefix) && !keyPrefix.split('/').some((seg) => seg === '.' || seg === '..'));
  if (!prefixOk) throw new ConfigError('WEIR_S3_PREFIX', 'a key prefix ending in / such as weir/', keyPrefix);
  return {
    driver: 's3',
    endpoint: endpoint === '' ? null : endpoint.replace(/\/$/, ''),
    bucket,
    region: r.string('WEIR_S3_REGION', 'us-east-1'),
    credentials: accessKeyId ? { accessKeyId, secretAccessKey } : null,
    // Path style unless told otherwise when an endpoint is given (self-hosted stores); AWS itself prefers virtual-hosted.
    forcePathStyle:
      r.oneOf('WEIR_S3_FORCE_PATH_STYLE', endpoint !== '' ? 'true' : 'false', ['true', 'false'] as const) === 'true',
    keyPrefix,
  };
}
