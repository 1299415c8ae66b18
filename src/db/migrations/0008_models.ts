import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/**
 * Models (src/models/): a model is a named training spec over a dataset; each successful training stores one
 * immutable numbered version with its report and its artifact (a blob under `models/`). A version is registered
 * only when its training finished, in one transaction keyed by the training job (`job_id` UNIQUE), so a retried
 * job never registers twice and a killed one leaves no half version.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;

  await db.schema
    .createTable('models')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    // forecast | regression | classification
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('dataset_id', 'text', (c) => c.notNull())
    // JSON: ModelSpec (features, horizon, algorithm, params, split, scaling, budget, seed, ...)
    .addColumn('spec_json', 'text', (c) => c.notNull())
    .addColumn('current_version_id', 'text')
    // The latest training job (its state is the model's training state).
    .addColumn('last_job_id', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addUniqueConstraint('models_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema
    .createIndex('models_workspace_created')
    .on('models')
    .columns(['workspace_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('model_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_id', 'text', (c) => c.notNull().references('models.id').onDelete('cascade'))
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('params_json', 'text', (c) => c.notNull())
    // JSON: the feature schema the version was trained on ([{name, kind}]).
    .addColumn('features_json', 'text', (c) => c.notNull())
    .addColumn('dataset_id', 'text', (c) => c.notNull())
    .addColumn('dataset_version_id', 'text', (c) => c.notNull())
    // JSON: TrainingReport
    .addColumn('report_json', 'text', (c) => c.notNull())
    .addColumn('artifact_key', 'text', (c) => c.notNull())
    .addColumn('artifact_bytes', big, (c) => c.notNull())
    .addColumn('training_ms', 'integer', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addUniqueConstraint('model_versions_model_number', ['model_id', 'number'])
    .execute();
  await db.schema
    .createIndex('model_versions_dataset_version')
    .on('model_versions')
    .columns(['dataset_version_id'])
    .execute();
}
