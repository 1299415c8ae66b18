import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/**
 * Connectors (src/connectors/) and the live datasets they feed (src/live/). A connector owns exactly one live
 * dataset. Records it receives are acknowledged once they are rows of `live_records` (the durable append log);
 * the flusher moves them, in order, into small Parquet segments (`live_segments`) that queries read together with
 * the dataset's latest version; compaction folds segments into a new immutable version (`live_compactions` keeps
 * its cursor range). `live_keys` remembers the source keys seen within the dedupe window.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;

  await db.schema
    .createTable('connectors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    // thingspeak | http | mqtt | push
    .addColumn('type', 'text', (c) => c.notNull())
    // JSON: the source's settings without its secrets.
    .addColumn('config_json', 'text', (c) => c.notNull())
    // AES-256-GCM sealed JSON of the secrets (api keys, passwords, auth header values); null when none.
    .addColumn('secrets_sealed', 'text')
    // JSON: FieldSpec[], the live dataset's columns.
    .addColumn('fields_json', 'text', (c) => c.notNull())
    // JSON: rate limit, timeouts, retries, breaker, cache, pause and staleness settings.
    .addColumn('safety_json', 'text', (c) => c.notNull())
    // JSON: flush and compaction policy of the live dataset.
    .addColumn('live_json', 'text', (c) => c.notNull())
    .addColumn('schedule', 'text')
    .addColumn('dataset_id', 'text', (c) => c.notNull())
    // active | paused
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('paused_reason', 'text')
    .addColumn('cursor', 'text')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_sync_at', ts)
    .addColumn('last_success_at', ts)
    .addColumn('last_record_at', ts)
    .addColumn('last_error', 'text')
    .addColumn('stale', 'integer', (c) => c.notNull().defaultTo(0))
    // sha256 of the connector-scoped push key (device push); null when none was issued.
    .addColumn('push_key_hash', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addUniqueConstraint('connectors_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema
    .createIndex('connectors_workspace_created')
    .on('connectors')
    .columns(['workspace_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('connector_syncs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    // schedule | manual | backfill | stream | push
    .addColumn('trigger', 'text', (c) => c.notNull())
    // succeeded | failed | partial
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('records', 'integer', (c) => c.notNull())
    .addColumn('duplicates', 'integer', (c) => c.notNull())
    .addColumn('rejected', 'integer', (c) => c.notNull())
    // JSON: { reason, sample? }[] (at most 20), then the error of a failed sync.
    .addColumn('errors_json', 'text', (c) => c.notNull())
    .addColumn('cursor_from', 'text')
    .addColumn('cursor_to', 'text')
    .addColumn('started_at', ts, (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('connector_syncs_connector')
    .on('connector_syncs')
    .columns(['connector_id', 'started_at'])
    .execute();

  // One row per (connector, fire time): the process whose insert wins polls; the others skip that fire time.
  await db.schema
    .createTable('connector_fires')
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('scheduled_for', 'text', (c) => c.notNull())
    .addColumn('claimed_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('connector_fires_pk', ['connector_id', 'scheduled_for'])
    .execute();

  // The append log. `seq` orders records within a connector; rows leave it when a segment holding them is stored.
  if (dialect === 'postgres') {
    await db.schema
      .createTable('live_records')
      .addColumn('seq', 'bigserial', (c) => c.primaryKey())
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('cursor', 'text')
      .addColumn('row_json', 'text', (c) => c.notNull())
      .addColumn('received_at', ts, (c) => c.notNull())
      .execute();
  } else {
    await db.schema
      .createTable('live_records')
      .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('cursor', 'text')
      .addColumn('row_json', 'text', (c) => c.notNull())
      .addColumn('received_at', ts, (c) => c.notNull())
      .execute();
  }
  await db.schema.createIndex('live_records_connector').on('live_records').columns(['connector_id', 'seq']).execute();

  await db.schema
    .createTable('live_keys')
    .addColumn('connector_id', 'text', (c) => c.notNull())
    .addColumn('source_key', 'text', (c) => c.notNull())
    .addColumn('seen_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('live_keys_pk', ['connector_id', 'source_key'])
    .execute();
  await db.schema.createIndex('live_keys_seen').on('live_keys').columns(['connector_id', 'seen_at']).execute();

  await db.schema
    .createTable('live_segments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connector_id', 'text', (c) => c.notNull())
    .addColumn('dataset_id', 'text', (c) => c.notNull())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('first_seq', big, (c) => c.notNull())
    .addColumn('last_seq', big, (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('bytes', big, (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('cursor_from', 'text')
    .addColumn('cursor_to', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    // Set by the compaction that folded the segment into a version; its file is deleted a grace period later by
    // whichever process sweeps first (a row, not a timer: a process that dies meanwhile leaks nothing).
    .addColumn('retired_at', ts)
    .execute();
  await db.schema
    .createIndex('live_segments_dataset')
    .on('live_segments')
    .columns(['dataset_id', 'first_seq'])
    .execute();

  // Lineage of a compacted version: which connector and which cursor and sequence range it folded in.
  await db.schema
    .createTable('live_compactions')
    .addColumn('version_id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull())
    .addColumn('connector_id', 'text', (c) => c.notNull())
    .addColumn('first_seq', big)
    .addColumn('last_seq', big)
    .addColumn('rows', big, (c) => c.notNull())
    .addColumn('segments', 'integer', (c) => c.notNull())
    .addColumn('cursor_from', 'text')
    .addColumn('cursor_to', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();

  // Who holds a live dataset's flush/compaction lease (one writer of segments and versions per dataset).
  await db.schema
    .createTable('live_leases')
    .addColumn('connector_id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('until', 'text', (c) => c.notNull())
    .execute();
}
