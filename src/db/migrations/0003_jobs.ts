import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/**
 * The job record, shared by both queue drivers (see src/jobs/types.ts). The embedded driver also claims rows
 * here: a running row carries the worker that holds it and the lease's end; a lease that runs out means the
 * worker died, and the job is attempted again.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('parent_id', 'text')
    .addColumn('payload_json', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('progress_message', 'text')
    .addColumn('progress_data_json', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('timeout_ms', 'integer', (c) => c.notNull())
    .addColumn('result_json', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    // JSON: FieldError[] of a rejected input (e.g. the rows of a refused upload), or null.
    .addColumn('error_details_json', 'text')
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('worker_id', 'text')
    .addColumn('lease_until', ts)
    .addColumn('run_after', ts, (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('started_at', ts)
    .addColumn('finished_at', ts)
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  // Claiming: the next runnable job of a kind by priority, then age (ids sort by creation time), read in index
  // order so a claim stops at its LIMIT however long the backlog; `run_after` is checked on the rows walked.
  await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'kind', 'priority desc', 'id']).execute();
  // Listing a workspace's jobs newest first, and the stats' time windows.
  await db.schema
    .createIndex('jobs_workspace_created')
    .on('jobs')
    .columns(['workspace_id', 'created_at', 'id'])
    .execute();
  await db.schema.createIndex('jobs_finished').on('jobs').columns(['status', 'finished_at']).execute();
  await db.schema.createIndex('jobs_parent').on('jobs').column('parent_id').execute();
}
