import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/** Workspaces, datasets, their tags and immutable versions. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  const big = dialect === 'postgres' ? sql`bigint` : sql`integer`;

  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('datasets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('latest_version_id', 'text')
    .addColumn('version_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  // The id breaks ties in the default order (newest first), so the index covers the whole ORDER BY.
  await db.schema
    .createIndex('datasets_workspace_created')
    .on('datasets')
    .columns(['workspace_id', 'created_at', 'id'])
    .execute();
  await db.schema.createIndex('datasets_workspace_name').on('datasets').columns(['workspace_id', 'name']).execute();

  await db.schema
    .createTable('dataset_tags')
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_tags_pk', ['dataset_id', 'tag'])
    .execute();
  await db.schema.createIndex('dataset_tags_tag').on('dataset_tags').column('tag').execute();

  await db.schema
    .createTable('dataset_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('source_filename', 'text', (c) => c.notNull())
    .addColumn('source_format', 'text', (c) => c.notNull())
    .addColumn('source_encoding', 'text')
    .addColumn('source_bytes', big, (c) => c.notNull())
    .addColumn('sha256', 'text')
    .addColumn('parquet_bytes', big, (c) => c.notNull())
    .addColumn('row_count', big, (c) => c.notNull())
    .addColumn('column_count', 'integer', (c) => c.notNull())
    .addColumn('schema_json', 'text', (c) => c.notNull())
    .addColumn('profile_json', 'text', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addUniqueConstraint('dataset_versions_number', ['dataset_id', 'number'])
    .execute();
  // Deduplication: one stored copy of given bytes per workspace. NULL (not from an upload) never collides.
  await db.schema
    .createIndex('dataset_versions_sha256')
    .on('dataset_versions')
    .columns(['workspace_id', 'sha256'])
    .unique()
    .execute();

  await db
    .insertInto('workspaces' as never)
    .values({ id: 'ws_default', slug: 'default', name: 'Default', created_at: new Date().toISOString() } as never)
    .execute();
}
