/**
 * The shapes of Weir's HTTP API as the CLI sees them. Written out by hand (not imported from the server's
 * TypeBox schemas) so the client depends on the wire format only, never on server modules.
 */

export type DatasetFormat = 'csv' | 'ndjson' | 'json' | 'parquet' | 'xlsx';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['csv', 'ndjson', 'json', 'parquet', 'xlsx'];

export interface ColumnSchema {
  name: string;
  type: string;
  nullable: boolean;
}

export interface Version {
  id: string;
  datasetId: string;
  workspaceId: string;
  /** 1 for the first version, then counting up. */
  number: number;
  sourceFilename: string;
  sourceFormat: DatasetFormat;
  sourceEncoding: string | null;
  /** Size of the uploaded file, in bytes. */
  sourceBytes: number;
  sha256: string | null;
  /** Size of the stored Parquet file, in bytes. */
  parquetBytes: number;
  rowCount: number;
  schema: ColumnSchema[];
  createdAt: string;
}

export interface Dataset {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  tags: string[];
  format: DatasetFormat;
  versionCount: number;
  latestVersion: Version | null;
  createdAt: string;
  updatedAt: string;
}

export interface IngestResponse extends Dataset {
  version: Version;
  /** Set when identical bytes were already stored in the workspace: nothing new was written. */
  duplicateOf: { datasetId: string; versionId: string } | null;
}

/** A version in a listing: no column schema, its column count instead. */
export type VersionSummary = Omit<Version, 'schema'> & { columnCount: number };

export type DatasetSummary = Omit<Dataset, 'latestVersion'> & { latestVersion: VersionSummary | null };

export interface DatasetList {
  items: DatasetSummary[];
  total: number;
  limit: number;
  offset: number;
}

export interface VersionList {
  items: Version[];
}

export interface Preview {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  /** Rows in the whole version, not in this page. */
  total: number;
  versionId: string;
}

export type ProfileValue = number | string | boolean | null;

export interface ColumnProfile {
  name: string;
  type: string;
  count: number;
  nulls: number;
  /** Exact when `distinctExact`, else an estimate. */
  distinctEstimate: number;
  distinctExact: boolean;
  min: ProfileValue;
  max: ProfileValue;
  mean: number | null;
  stddev: number | null;
  quantiles: { p05: number; p25: number; p50: number; p75: number; p95: number } | null;
  topValues: { value: string; count: number }[] | null;
  histogram: { start: number; end: number; count: number }[] | null;
  range: { min: string; max: string } | null;
}

export interface Profile {
  versionId: string;
  rowCount: number;
  columns: ColumnProfile[];
}

/** RFC 9457 problem details, as every error response of Weir carries them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors: { pointer: string; message: string; line?: number; row?: number }[];
  requestId: string;
}
