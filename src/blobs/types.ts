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
  /** Readiness probe: the store can be written and read. */
  ping(): Promise<void>;
}

const KEY_PATTERN = /^(datasets|uploads|models|exports|cache|logs)\/[A-Za-z0-9_\-./]+$/;

export function assertValidKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new Error(`invalid blob key: ${key}`);
  }
}

export const datasetVersionKey = (workspaceId: string, datasetId: string, versionId: string): string =>
  `datasets/${workspaceId}/${datasetId}/${versionId}.parquet`;

export const datasetPrefix = (workspaceId: string, datasetId: string): string => `datasets/${workspaceId}/${datasetId}/`;
