import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/**
 * The storage lifecycle (src/storage/): a per-dataset "keep the last N versions" setting, and the record of
 * storage sweeps. A scheduled sweep's row is inserted at its cron fire time before its job is enqueued: the
 * unique `scheduled_for` lets exactly one process of a cluster win each fire time (NULLs, the sweeps an
 * administrator starts, never collide). The last successful sweep's result carries the job-artifact watermark.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;

  // null = keep every version.
  await db.schema.alterTable('datasets').addColumn('keep_versions', 'integer').execute();

  await db.schema
    .createTable('storage_sweeps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('scheduled_for', ts, (c) => c.unique())
    .addColumn('started_at', ts)
    .addColumn('finished_at', ts)
    .addColumn('dry_run', 'integer', (c) => c.notNull().defaultTo(0))
    // queued | running | succeeded | failed | cancelled
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result_json', 'text')
    .addColumn('job_id', 'text')
    .execute();
  await db.schema.createIndex('storage_sweeps_job').on('storage_sweeps').column('job_id').execute();
}
