import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/**
 * Pipelines (src/pipelines/): saved pipelines with immutable numbered versions of their definition, the record of
 * every run (saved or ad hoc), and the lineage of each version a run stored. Runs and lineage keep no foreign key
 * to `pipelines`: deleting a pipeline leaves its history readable (lineage snapshots the pipeline's name).
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;

  await db.schema
    .createTable('pipelines')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('current_version', 'integer', (c) => c.notNull())
    // Set by the first run that creates the output dataset; later runs append versions to it.
    .addColumn('output_dataset_id', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addUniqueConstraint('pipelines_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema
    .createIndex('pipelines_workspace_created')
    .on('pipelines')
    .columns(['workspace_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('pipeline_versions')
    .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    // JSON: PipelineDefinition, as saved (a template keeps its `$param` placeholders).
    .addColumn('definition_json', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('pipeline_versions_pk', ['pipeline_id', 'version'])
    .execute();

  await db.schema
    .createTable('pipeline_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // null for ad-hoc runs (POST /pipelines/run)
    .addColumn('pipeline_id', 'text')
    .addColumn('pipeline_version', 'integer')
    .addColumn('pipeline_name', 'text', (c) => c.notNull())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text')
    // queued | running | succeeded | failed | cancelled (while unfinished, the job's state is the truth)
    .addColumn('status', 'text', (c) => c.notNull())
    // JSON: the definition run, template parameters not yet applied
    .addColumn('definition_json', 'text', (c) => c.notNull())
    .addColumn('input_dataset_id', 'text', (c) => c.notNull())
    .addColumn('input_version_id', 'text')
    .addColumn('output_dataset_id', 'text')
    .addColumn('output_version_id', 'text')
    .addColumn('params_json', 'text', (c) => c.notNull())
    .addColumn('error_json', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('started_at', ts)
    .addColumn('finished_at', ts)
    .addColumn('row_count', big)
    .addColumn('duration_ms', 'integer')
    .execute();
  await db.schema
    .createIndex('pipeline_runs_pipeline_created')
    .on('pipeline_runs')
    .columns(['pipeline_id', 'created_at', 'id'])
    .execute();
  await db.schema.createIndex('pipeline_runs_job').on('pipeline_runs').column('job_id').execute();

  await db.schema
    .createTable('dataset_lineage')
    // One row per derived version, written in the transaction that stores the version.
    .addColumn('version_id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('pipeline_id', 'text')
    .addColumn('pipeline_version', 'integer')
    .addColumn('pipeline_name', 'text', (c) => c.notNull())
    // JSON: [{datasetId, versionId, role: 'input' | 'join', stepIndex?}]
    .addColumn('inputs_json', 'text', (c) => c.notNull())
    // JSON: the steps run, template parameters substituted
    .addColumn('steps_json', 'text', (c) => c.notNull())
    .addColumn('params_json', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dataset_lineage_dataset').on('dataset_lineage').columns(['dataset_id']).execute();
}
