import type { ColumnType, Generated as _Generated } from 'kysely';

/**
 * Table types of the metadata store. Timestamps are written as ISO 8601 strings; SQLite keeps them as TEXT,
 * PostgreSQL as timestamptz (read back as Date). Big counters are bigint in PostgreSQL (read back as string).
 * Repositories normalize both through src/db/values.ts.
 */
type Timestamp = ColumnType<Date | string, string, string>;
type BigCount = ColumnType<number | string, number, number>;

export interface WorkspacesTable {
  id: string;
  slug: string;
  name: string;
  created_at: Timestamp;
}

export interface DatasetsTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  /** Source format of the latest version (csv, ndjson, json, parquet, xlsx). */
  format: string;
  latest_version_id: string | null;
  version_count: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DatasetTagsTable {
  dataset_id: string;
  tag: string;
}

export interface DatasetVersionsTable {
  id: string;
  dataset_id: string;
  workspace_id: string;
  number: number;
  source_filename: string;
  source_format: string;
  source_encoding: string | null;
  source_bytes: BigCount;
  /** SHA-256 of the uploaded bytes (hex); null for versions not made from an upload. */
  sha256: string | null;
  parquet_bytes: BigCount;
  row_count: BigCount;
  column_count: number;
  /** JSON: ColumnSchema[] */
  schema_json: string;
  /** JSON: DatasetProfile */
  profile_json: string;
  blob_key: string;
  created_at: Timestamp;
}

export interface Database {
  workspaces: WorkspacesTable;
  datasets: DatasetsTable;
  dataset_tags: DatasetTagsTable;
  dataset_versions: DatasetVersionsTable;
}
