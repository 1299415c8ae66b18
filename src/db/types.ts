import type { ColumnType, Generated } from 'kysely';

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
  /** JSON: string[] of CIDRs. */
  ip_allow_json: ColumnType<string, string | undefined, string>;
  ip_deny_json: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
}

export interface UsersTable {
  id: string;
  email: string;
  display_name: string;
  password_hash: string;
  instance_admin: number;
  disabled: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_login_at: Timestamp | null;
}

export interface MembershipsTable {
  workspace_id: string;
  user_id: string;
  role: string;
  created_at: Timestamp;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface ApiKeysTable {
  id: string;
  workspace_id: string;
  name: string;
  secret_hash: string;
  /** JSON: Permission[] */
  scopes_json: string;
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface InvitationsTable {
  id: string;
  workspace_id: string;
  /** Lower-cased. */
  email: string;
  role: string;
  /** pending | accepted | declined | revoked; "expired" is pending past expires_at. */
  status: string;
  invited_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  responded_at: Timestamp | null;
}

export interface InstanceSecretsTable {
  name: string;
  value: string;
  created_at: Timestamp;
}

export interface AuditEventsTable {
  id: string;
  at: Timestamp;
  workspace_id: string | null;
  actor_type: string;
  actor_id: string | null;
  api_key_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  status_code: number | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  detail_json: string | null;
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
  /** Keep only this many newest versions (the storage sweep deletes older ones); null = keep all. */
  keep_versions: number | null;
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

export interface JobsTable {
  id: string;
  kind: string;
  workspace_id: string;
  created_by: string | null;
  parent_id: string | null;
  payload_json: string;
  status: string;
  priority: number;
  progress: number;
  progress_message: string | null;
  progress_data_json: string | null;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  result_json: string | null;
  error_code: string | null;
  error_message: string | null;
  /** JSON FieldError[] or null. */
  error_details_json: string | null;
  /** 0 or 1 (SQLite has no boolean). */
  cancel_requested: number;
  worker_id: string | null;
  lease_until: Timestamp | null;
  run_after: Timestamp;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface UploadsTable {
  id: string;
  workspace_id: string;
  created_by: string | null;
  status: string;
  length: number | string | null;
  offset: number | string;
  concat: string | null;
  parts_json: string | null;
  metadata_json: string;
  filename: string;
  dataset_id: string | null;
  version_id: string | null;
  job_id: string | null;
  duplicate_of_json: string | null;
  error_code: string | null;
  error_message: string | null;
  error_details_json: string | null;
  lock_owner: string | null;
  lock_until: Timestamp | null;
  expires_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}

/** One storage sweep (src/storage/): scheduled (`scheduled_for` set, unique: one per cron fire time) or started by hand. */
export interface StorageSweepsTable {
  id: string;
  scheduled_for: Timestamp | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  /** 0 or 1. */
  dry_run: number;
  /** queued | running | succeeded | failed | cancelled */
  status: string;
  /** JSON: the SweepResult (or `{error}` when it failed). */
  result_json: string | null;
  job_id: string | null;
}

/** A saved pipeline (src/pipelines/); its definitions are the immutable rows of `pipeline_versions`. */
export interface PipelinesTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  current_version: number;
  /** The dataset the pipeline's runs append to, once the first run created it. */
  output_dataset_id: string | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PipelineVersionsTable {
  pipeline_id: string;
  version: number;
  /** JSON: PipelineDefinition. */
  definition_json: string;
  created_by: string | null;
  created_at: Timestamp;
}

/** One run of a saved (pipeline_id set) or ad-hoc pipeline; no foreign key: history outlives the pipeline. */
export interface PipelineRunsTable {
  id: string;
  pipeline_id: string | null;
  pipeline_version: number | null;
  pipeline_name: string;
  workspace_id: string;
  job_id: string | null;
  /** queued | running | succeeded | failed | cancelled */
  status: string;
  definition_json: string;
  input_dataset_id: string;
  input_version_id: string | null;
  output_dataset_id: string | null;
  output_version_id: string | null;
  params_json: string;
  /** JSON: JobError. */
  error_json: string | null;
  created_by: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  row_count: BigCount | null;
  duration_ms: number | null;
}

/** How a derived dataset version was made: one row per version a pipeline run stored. */
export interface DatasetLineageTable {
  version_id: string;
  dataset_id: string;
  workspace_id: string;
  run_id: string;
  pipeline_id: string | null;
  pipeline_version: number | null;
  pipeline_name: string;
  /** JSON: LineageInput[]. */
  inputs_json: string;
  /** JSON: the steps run, template parameters substituted. */
  steps_json: string;
  params_json: string;
  created_at: Timestamp;
}

/** A named training spec over a dataset (src/models/); its trainings are the rows of `model_versions`. */
export interface ModelsTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  /** forecast | regression | classification */
  task: string;
  target: string;
  dataset_id: string;
  /** JSON: ModelSpec. */
  spec_json: string;
  current_version_id: string | null;
  last_job_id: string | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One successful training; registered with its artifact in one transaction keyed by `job_id`. */
export interface ModelVersionsTable {
  id: string;
  model_id: string;
  workspace_id: string;
  number: number;
  algorithm: string;
  params_json: string;
  features_json: string;
  dataset_id: string;
  dataset_version_id: string;
  /** JSON: TrainingReport. */
  report_json: string;
  artifact_key: string;
  artifact_bytes: BigCount;
  training_ms: number;
  job_id: string;
  created_by: string | null;
  created_at: Timestamp;
}

/** A source of records and its live dataset (src/connectors/). */
export interface ConnectorsTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  type: string;
  config_json: string;
  secrets_sealed: string | null;
  fields_json: string;
  safety_json: string;
  live_json: string;
  schedule: string | null;
  dataset_id: string;
  state: string;
  paused_reason: string | null;
  cursor: string | null;
  consecutive_failures: number;
  last_sync_at: Timestamp | null;
  last_success_at: Timestamp | null;
  last_record_at: Timestamp | null;
  last_error: string | null;
  stale: number;
  push_key_hash: string | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ConnectorSyncsTable {
  id: string;
  connector_id: string;
  workspace_id: string;
  trigger: string;
  status: string;
  records: number;
  duplicates: number;
  rejected: number;
  errors_json: string;
  cursor_from: string | null;
  cursor_to: string | null;
  started_at: Timestamp;
  duration_ms: number;
}

export interface ConnectorFiresTable {
  connector_id: string;
  scheduled_for: string;
  claimed_at: Timestamp;
}

export interface LiveRecordsTable {
  seq: Generated<number | string>;
  connector_id: string;
  cursor: string | null;
  row_json: string;
  received_at: Timestamp;
}

export interface LiveKeysTable {
  connector_id: string;
  source_key: string;
  seen_at: Timestamp;
}

export interface LiveSegmentsTable {
  id: string;
  connector_id: string;
  dataset_id: string;
  workspace_id: string;
  first_seq: BigCount;
  last_seq: BigCount;
  rows: number;
  bytes: BigCount;
  blob_key: string;
  cursor_from: string | null;
  cursor_to: string | null;
  created_at: Timestamp;
  retired_at: ColumnType<Date | string | null, string | null | undefined, string | null>;
}

export interface LiveCompactionsTable {
  version_id: string;
  dataset_id: string;
  connector_id: string;
  first_seq: BigCount | null;
  last_seq: BigCount | null;
  rows: BigCount;
  segments: number;
  cursor_from: string | null;
  cursor_to: string | null;
  created_at: Timestamp;
}

export interface LiveLeasesTable {
  connector_id: string;
  owner: string;
  until: string;
}

export interface Database {
  workspaces: WorkspacesTable;
  datasets: DatasetsTable;
  dataset_tags: DatasetTagsTable;
  dataset_versions: DatasetVersionsTable;
  jobs: JobsTable;
  uploads: UploadsTable;
  storage_sweeps: StorageSweepsTable;
  pipelines: PipelinesTable;
  pipeline_versions: PipelineVersionsTable;
  pipeline_runs: PipelineRunsTable;
  dataset_lineage: DatasetLineageTable;
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  api_keys: ApiKeysTable;
  invitations: InvitationsTable;
  instance_secrets: InstanceSecretsTable;
  audit_events: AuditEventsTable;
  connectors: ConnectorsTable;
  connector_syncs: ConnectorSyncsTable;
  connector_fires: ConnectorFiresTable;
  live_records: LiveRecordsTable;
  live_keys: LiveKeysTable;
  live_segments: LiveSegmentsTable;
  live_compactions: LiveCompactionsTable;
  live_leases: LiveLeasesTable;
}
