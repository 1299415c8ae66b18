import type { Readable } from 'node:stream';

/**
 * Where bytes live. Keys are built from ids (`datasets/ws_…/ds_…/dv_….parquet`), never from user file names;
 * the first segment is the area, which retention and storage statistics work by.
 */
export type BlobArea = 'datasets' | 'uploads' | 'models' | 'exports' | 'cache' | 'logs';

export interface BlobStat {
  bytes: number;
  modifiedAt: Date;
}

/** A blob materialized as a local file (DuckDB reads files); call release() when done with it. */
export interface LocalBlob {
  path: string;
  release(): Promise<void>;
}

/** One stored object, as listings return it. */
export interface BlobEntry extends BlobStat {
  key: string;
}

export const BLOB_AREAS: readonly BlobArea[] = ['datasets', 'uploads', 'models', 'exports', 'cache', 'logs'];

export interface BlobStore {
  readonly driver: 'local' | 's3';
  /** Stores a finished local file under key, taking ownership of it (the file is moved or removed). */
  putFile(key: string, localPath: string): Promise<BlobStat>;
  read(key: string): Promise<Readable>;
  stat(key: string): Promise<BlobStat | null>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every key under a prefix ending in '/'; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  localFile(key: string): Promise<LocalBlob>;
  /**
   * Every object whose key starts with `prefix` (which ends in '/'), in no particular order, streamed page by page:
   * retention sweeps and storage statistics walk areas of any size with it.
   */
  list(prefix: string): AsyncIterable<BlobEntry>;
  /** Readiness probe: the store can be written and read. */
  ping(): Promise<void>;
}

/**
 * The key `read` or `localFile` was asked for holds no blob. Every driver throws this (stat answers null instead);
 * `code` matches what fs callers already test for.
 */
export class BlobNotFoundError extends Error {
  readonly code = 'ENOENT';

  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`blob not found: ${key}`, options);
    this.name = 'BlobNotFoundError';
  }
}

const KEY_PATTERN = /^(datasets|uploads|models|exports|cache|logs)\/[A-Za-z0-9_\-./]+$/;

const isValidKey = (key: string): boolean =>
  KEY_PATTERN.test(key) && !key.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');

export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new Error(`invalid blob key: ${key}`);
}

/** A prefix for `list` and `deletePrefix`: a whole area (`uploads/`) or a valid key followed by '/'. */
export function assertValidPrefix(prefix: string): void {
  if (!prefix.endsWith('/')) throw new Error(`blob prefix must end with '/': ${prefix}`);
  const head = prefix.slice(0, -1);
  if (!(BLOB_AREAS as readonly string[]).includes(head) && !isValidKey(head))
    throw new Error(`invalid blob prefix: ${prefix}`);
}

export const datasetVersionKey = (workspaceId: string, datasetId: string, versionId: string): string =>
  `datasets/${workspaceId}/${datasetId}/${versionId}.parquet`;

/**
 * Where the derived files of a version (its time series summaries, src/analytics/summaries.ts) live: beside it,
 * under the dataset's prefix, so they are deleted with the dataset; whoever deletes the version deletes this too.
 */
export const versionSummaryPrefix = (versionBlobKey: string): string =>
  `${versionBlobKey.replace(/\.parquet$/, '')}.summaries/`;

export const datasetPrefix = (workspaceId: string, datasetId: string): string =>
  `datasets/${workspaceId}/${datasetId}/`;
