import type { DatasetProfile } from '../engine/profile.js';
import type { ColumnSchema } from '../engine/sql.js';
import type { SourceFormat } from './sniff.js';
import type { LiveHead } from '../live/writer.js';

/** A dataset as the API returns it. */
export interface Dataset {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  tags: string[];
  format: SourceFormat;
  versionCount: number;
  /** Keep only this many newest versions (the storage sweep prunes older ones); null = keep all. */
  keepVersions: number | null;
  /** Every dataset has at least one version: it is created together with its first. */
  latestVersion: DatasetVersion;
  createdAt: string;
  updatedAt: string;
}

export interface DatasetVersion {
  id: string;
  datasetId: string;
  workspaceId: string;
  number: number;
  sourceFilename: string;
  sourceFormat: SourceFormat;
  sourceEncoding: string | null;
  sourceBytes: number;
  sha256: string | null;
  parquetBytes: number;
  rowCount: number;
  schema: ColumnSchema[];
  createdAt: string;
}

/** A version in a listing: everything but the column schema, which GET /datasets/:id has. */
export type DatasetVersionSummary = Omit<DatasetVersion, 'schema'> & { columnCount: number };

/** A dataset in a listing. */
export type DatasetSummary = Omit<Dataset, 'latestVersion'> & { latestVersion: DatasetVersionSummary };

export interface StoredVersion extends DatasetVersion {
  blobKey: string;
  profile: DatasetProfile;
  /**
   * Set on the latest version of a live dataset when segments were flushed since its compaction: queries read them
   * with it, `rowCount` counts them, and the profile describes the compacted version only.
   */
  live?: LiveHead;
}

export type DatasetSort = 'createdAt' | '-createdAt' | 'name' | '-name' | 'updatedAt' | '-updatedAt';

export interface DatasetQuery {
  workspaceId: string;
  limit: number;
  offset: number;
  search?: string;
  /** Exactly this name (case-sensitive): how clients resolve a name to an id. */
  name?: string;
  tag?: string;
  format?: SourceFormat;
  createdAfter?: string;
  createdBefore?: string;
  sort: DatasetSort;
}
