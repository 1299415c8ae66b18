import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/**
 * Resumable (tus) uploads: one row per upload, from creation until the storage sweep forgets it. `offset` is
 * the count of bytes acknowledged to the client and only ever grows once those bytes are durable in the
 * staging store; a PATCH holds the row's lock (`lock_owner`, `lock_until`) so that two requests never write
 * one upload at once, on one node or across several.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;

  await db.schema
    .createTable('uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    // uploading | ingesting | done | rejected | failed | expired
    .addColumn('status', 'text', (c) => c.notNull())
    // null while the length is deferred (Upload-Defer-Length)
    .addColumn('length', big)
    .addColumn('offset', big, (c) => c.notNull().defaultTo(0))
    // tus concatenation: 'partial' parts are never ingested on their own; a 'final' upload lists its parts
    .addColumn('concat', 'text')
    .addColumn('parts_json', 'text')
    // JSON: the decoded Upload-Metadata pairs
    .addColumn('metadata_json', 'text', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    // A new version of this dataset (metadata `datasetId`), or the dataset the ingest created
    .addColumn('dataset_id', 'text')
    .addColumn('version_id', 'text')
    .addColumn('job_id', 'text')
    // JSON {datasetId, versionId} when the ingest found the same bytes already stored
    .addColumn('duplicate_of_json', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('error_details_json', 'text')
    .addColumn('lock_owner', 'text')
    .addColumn('lock_until', ts)
    .addColumn('expires_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addColumn('finished_at', ts)
    .execute();
  await db.schema
    .createIndex('uploads_workspace_created')
    .on('uploads')
    .columns(['workspace_id', 'created_at', 'id'])
    .execute();
  // The sweep: unfinished uploads past their expiry.
  await db.schema.createIndex('uploads_status_expires').on('uploads').columns(['status', 'expires_at']).execute();
}
