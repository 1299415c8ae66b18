import { sql, type Transaction } from 'kysely';
import type { Db, Dialect } from '../db/index.js';
import { containsInAnyCase } from '../db/filters.js';
import { utcDay } from '../db/utc-day.js';
import { toIso, toNumber } from '../db/values.js';
import type { Database, DatasetVersionsTable } from '../db/types.js';
import type { Dataset, DatasetQuery, DatasetSummary, DatasetVersion, StoredVersion } from './model.js';
import type { SourceFormat } from './sniff.js';
import type { ColumnSchema } from '../engine/sql.js';
import { storedProfile } from '../engine/profile.js';

type VersionRow = {
  [K in keyof DatasetVersionsTable]: DatasetVersionsTable[K] extends { __select__: infer S }
    ? S
    : DatasetVersionsTable[K];
};

function toVersion(r: VersionRow): StoredVersion {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    workspaceId: r.workspace_id,
    number: r.number,
    sourceFilename: r.source_filename,
    sourceFormat: r.source_format as SourceFormat,
    sourceEncoding: r.source_encoding,
    sourceBytes: toNumber(r.source_bytes),
    sha256: r.sha256,
    parquetBytes: toNumber(r.parquet_bytes),
    rowCount: toNumber(r.row_count),
    schema: JSON.parse(r.schema_json),
    profile: storedProfile(r.profile_json),
    blobKey: r.blob_key,
    createdAt: toIso(r.created_at),
  };
}

/**
 * What the storage sweep reads and deletes of datasets to apply keep-last-N: the datasets that keep fewer versions,
 * their versions, and a deletion that never takes a dataset's latest.
 */
export type VersionRetention = Pick<
  DatasetRepo,
  'datasetsKeepingVersions' | 'versionBlobs' | 'deleteVersionsExceptLatest' | 'existingVersionIds'
>;

/** Versions summed: how many, their rows, and their bytes as stored (Parquet) and as uploaded (source). */
export interface StoredSums {
  versions: number;
  rows: number;
  parquetBytes: number;
  sourceBytes: number;
}

const STORED_SUMS = [
  sql<number | string>`count(*)`.as('versions'),
  sql<number | string | null>`sum(row_count)`.as('rows'),
  sql<number | string | null>`sum(parquet_bytes)`.as('parquet'),
  sql<number | string | null>`sum(source_bytes)`.as('source'),
] as const;

const sum = (v: number | string | null): number => (v === null ? 0 : toNumber(v));

function storedSums(r: {
  versions: number | string;
  rows: number | string | null;
  parquet: number | string | null;
  source: number | string | null;
}): StoredSums {
  return { versions: sum(r.versions), rows: sum(r.rows), parquetBytes: sum(r.parquet), sourceBytes: sum(r.source) };
}

/** What the instance-wide statistics read of datasets and their versions (src/analytics/platform.ts). */
export type DatasetInstanceStats = Pick<
  DatasetRepo,
  | 'storedByWorkspaceAndFormat'
  | 'countsByWorkspaceAndFormat'
  | 'storedPerDay'
  | 'largestByParquetBytes'
  | 'withLatestRowCounts'
>;

/** The public view of a version (no storage key, no profile). */
export function publicVersion(v: StoredVersion): DatasetVersion {
  const { blobKey: _b, profile: _p, ...rest } = v;
  return rest;
}

/** A version as a pipeline reads it: where its Parquet file is and its columns. */
export interface SourceVersion {
  id: string;
  blobKey: string;
  schema: ColumnSchema[];
}

export interface NewVersion {
  id: string;
  datasetId: string;
  workspaceId: string;
  sourceFilename: string;
  sourceFormat: SourceFormat;
  sourceEncoding: string | null;
  sourceBytes: number;
  sha256: string | null;
  parquetBytes: number;
  rowCount: number;
  schema: ColumnSchema[];
  profileJson: string;
  blobKey: string;
}

/** How a derived version was made (the `dataset_lineage` row). */
export interface NewLineage {
  runId: string;
  pipelineId: string | null;
  pipelineVersion: number | null;
  /** A snapshot: the pipeline may be renamed or deleted later. */
  pipelineName: string;
  inputs: { datasetId: string; versionId: string; role: 'input' | 'join'; stepIndex?: number }[];
  steps: unknown[];
  params: Record<string, unknown>;
}

export interface NewDataset {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  tags: string[];
}

/** The only code that touches the datasets tables. */
export class DatasetRepo {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async findVersionBySha(workspaceId: string, sha256: string): Promise<StoredVersion | null> {
    const row = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row ? toVersion(row) : null;
  }

  async getVersion(workspaceId: string, datasetId: string, versionId: string): Promise<StoredVersion | null> {
    const row = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('dataset_id', '=', datasetId)
      .where('id', '=', versionId)
      .executeTakeFirst();
    return row ? toVersion(row) : null;
  }

  /**
   * What a reader of a version (a pipeline) needs and nothing more: no profile is parsed. `exists` false: no such
   * dataset in the workspace; `version` null: the dataset has no such version.
   */
  async findSource(
    workspaceId: string,
    datasetId: string,
    versionId?: string,
  ): Promise<{ exists: boolean; version: SourceVersion | null }> {
    const dataset = await this.db
      .selectFrom('datasets')
      .select(['id', 'latest_version_id'])
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', datasetId)
      .executeTakeFirst();
    if (!dataset) return { exists: false, version: null };
    const row = await this.db
      .selectFrom('dataset_versions')
      .select(['id', 'blob_key', 'schema_json'])
      .where('workspace_id', '=', workspaceId)
      .where('dataset_id', '=', datasetId)
      .where('id', '=', versionId ?? dataset.latest_version_id ?? '')
      .executeTakeFirst();
    return {
      exists: true,
      version: row
        ? { id: row.id, blobKey: row.blob_key, schema: JSON.parse(row.schema_json) as ColumnSchema[] }
        : null,
    };
  }

  /** Dataset name and version number of each of `versionIds` that still exists (lineage graphs). */
  async versionLabels(
    workspaceId: string,
    versionIds: string[],
  ): Promise<Map<string, { datasetName: string; versionNumber: number }>> {
    const out = new Map<string, { datasetName: string; versionNumber: number }>();
    if (versionIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('dataset_versions as v')
      .innerJoin('datasets as d', 'd.id', 'v.dataset_id')
      .select(['v.id', 'v.number', 'd.name'])
      .where('v.workspace_id', '=', workspaceId)
      .where('v.id', 'in', versionIds)
      .execute();
    for (const r of rows) out.set(r.id, { datasetName: r.name, versionNumber: r.number });
    return out;
  }

  async listVersions(workspaceId: string, datasetId: string): Promise<StoredVersion[]> {
    const rows = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('dataset_id', '=', datasetId)
      .orderBy('number', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  async get(workspaceId: string, id: string): Promise<(Dataset & { latest: StoredVersion }) | null> {
    const row = await this.db
      .selectFrom('datasets')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    const [tags, latest] = await Promise.all([
      this.tagsOf([id]),
      this.getVersion(workspaceId, id, row.latest_version_id ?? ''),
    ]);
    // A dataset is inserted with its first version in one transaction, so this only fails on a corrupt database.
    if (!latest) throw new Error(`dataset ${id} has no latest version`);
    return {
      id: row.id,
      workspaceId: row.workspace_id,
      name: row.name,
      description: row.description,
      tags: tags.get(id) ?? [],
      format: row.format as SourceFormat,
      versionCount: row.version_count,
      keepVersions: row.keep_versions === null ? null : toNumber(row.keep_versions),
      latestVersion: publicVersion(latest),
      latest,
      createdAt: toIso(row.created_at),
      updatedAt: toIso(row.updated_at),
    };
  }

  async list(q: DatasetQuery): Promise<{ items: DatasetSummary[]; total: number }> {
    let base = this.db.selectFrom('datasets').where('datasets.workspace_id', '=', q.workspaceId);
    if (q.search) base = base.where(containsInAnyCase('datasets.name', q.search));
    if (q.name !== undefined) base = base.where('datasets.name', '=', q.name);
    if (q.tag) {
      const tag = q.tag;
      base = base.where((eb) =>
        eb.exists(
          eb
            .selectFrom('dataset_tags')
            .select('dataset_tags.tag')
            .whereRef('dataset_tags.dataset_id', '=', 'datasets.id')
            .where('dataset_tags.tag', '=', tag),
        ),
      );
    }
    if (q.format) base = base.where('datasets.format', '=', q.format);
    if (q.createdAfter) base = base.where('datasets.created_at', '>=', q.createdAfter);
    if (q.createdBefore) base = base.where('datasets.created_at', '<', q.createdBefore);

    const desc = q.sort.startsWith('-');
    const column = (
      { createdAt: 'datasets.created_at', name: 'datasets.name', updatedAt: 'datasets.updated_at' } as const
    )[q.sort.replace('-', '') as 'createdAt' | 'name' | 'updatedAt'];
    const [rows, count] = await Promise.all([
      base
        .innerJoin('dataset_versions as v', 'v.id', 'datasets.latest_version_id')
        .selectAll('datasets')
        .select([
          'v.id as v_id',
          'v.number as v_number',
          'v.source_filename as v_source_filename',
          'v.source_format as v_source_format',
          'v.source_encoding as v_source_encoding',
          'v.source_bytes as v_source_bytes',
          'v.sha256 as v_sha256',
          'v.parquet_bytes as v_parquet_bytes',
          'v.row_count as v_row_count',
          'v.column_count as v_column_count',
          'v.created_at as v_created_at',
        ])
        .orderBy(column, desc ? 'desc' : 'asc')
        .orderBy('datasets.id', desc ? 'desc' : 'asc')
        .limit(q.limit)
        .offset(q.offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    const tags = await this.tagsOf(rows.map((r) => r.id));
    const items: DatasetSummary[] = rows.map((r) => ({
      id: r.id,
      workspaceId: r.workspace_id,
      name: r.name,
      description: r.description,
      tags: tags.get(r.id) ?? [],
      format: r.format as SourceFormat,
      versionCount: r.version_count,
      keepVersions: r.keep_versions === null ? null : toNumber(r.keep_versions),
      latestVersion: {
        id: r.v_id,
        datasetId: r.id,
        workspaceId: r.workspace_id,
        number: r.v_number,
        sourceFilename: r.v_source_filename,
        sourceFormat: r.v_source_format as SourceFormat,
        sourceEncoding: r.v_source_encoding,
        sourceBytes: toNumber(r.v_source_bytes),
        sha256: r.v_sha256,
        parquetBytes: toNumber(r.v_parquet_bytes),
        rowCount: toNumber(r.v_row_count),
        columnCount: r.v_column_count,
        createdAt: toIso(r.v_created_at),
      },
      createdAt: toIso(r.created_at),
      updatedAt: toIso(r.updated_at),
    }));
    return { items, total: toNumber(count.n) };
  }

  private async tagsOf(ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (ids.length === 0) return out;
    const rows = await this.db
      .selectFrom('dataset_tags')
      .select(['dataset_id', 'tag'])
      .where('dataset_id', 'in', ids)
      .orderBy('tag')
      .execute();
    for (const r of rows) out.set(r.dataset_id, [...(out.get(r.dataset_id) ?? []), r.tag]);
    return out;
  }

  /** Creates the dataset (when new) and appends the version, in one transaction. */
  /**
   * Stores a version (and a new dataset) and whatever `alsoInTransaction` writes, in one transaction: a live
   * dataset's compaction records its lineage and retires the segments it folded in atomically with the version.
   */
  async insertVersionWith(
    dataset: NewDataset | null,
    version: NewVersion,
    alsoInTransaction: (trx: Transaction<Database>) => Promise<void>,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await appendVersion(trx, dataset, version, new Date().toISOString());
      await alsoInTransaction(trx);
    });
  }

  async insertVersion(dataset: NewDataset | null, version: NewVersion): Promise<void> {
    await this.db.transaction().execute((trx) => appendVersion(trx, dataset, version, new Date().toISOString()));
  }

  /**
   * A version a pipeline run derived, with its lineage row, in one transaction: a derived version never exists
   * without the record of how it was made.
   */
  async insertDerivedVersion(dataset: NewDataset | null, version: NewVersion, lineage: NewLineage): Promise<void> {
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await appendVersion(trx, dataset, version, now);
      await trx
        .insertInto('dataset_lineage')
        .values({
          version_id: version.id,
          dataset_id: version.datasetId,
          workspace_id: version.workspaceId,
          run_id: lineage.runId,
          pipeline_id: lineage.pipelineId,
          pipeline_version: lineage.pipelineVersion,
          pipeline_name: lineage.pipelineName,
          inputs_json: JSON.stringify(lineage.inputs),
          steps_json: JSON.stringify(lineage.steps),
          params_json: JSON.stringify(lineage.params),
          created_at: now,
        })
        .execute();
    });
  }

  async update(
    workspaceId: string,
    id: string,
    patch: { name?: string; description?: string; tags?: string[]; keepVersions?: number | null },
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const set: { name?: string; description?: string; keep_versions?: number | null; updated_at: string } = {
        updated_at: new Date().toISOString(),
      };
      if (patch.name !== undefined) set.name = patch.name;
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.keepVersions !== undefined) set.keep_versions = patch.keepVersions;
      const res = await trx
        .updateTable('datasets')
        .set(set)
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      if (patch.tags) {
        await trx.deleteFrom('dataset_tags').where('dataset_id', '=', id).execute();
        if (patch.tags.length > 0)
          await trx
            .insertInto('dataset_tags')
            .values(patch.tags.map((tag) => ({ dataset_id: id, tag })))
            .execute();
      }
      return true;
    });
  }

  /** Deletes the dataset row, its tags and versions; returns the blob keys that were referenced. */
  async delete(workspaceId: string, id: string): Promise<string[] | null> {
    return this.db.transaction().execute(async (trx) => {
      const versions = await trx
        .selectFrom('dataset_versions')
        .select('blob_key')
        .where('workspace_id', '=', workspaceId)
        .where('dataset_id', '=', id)
        .execute();
      await trx
        .deleteFrom('dataset_versions')
        .where('dataset_id', '=', id)
        .where('workspace_id', '=', workspaceId)
        .execute();
      await trx.deleteFrom('dataset_tags').where('dataset_id', '=', id).execute();
      const res = await trx
        .deleteFrom('datasets')
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numDeletedRows) === 0 ? null : versions.map((v) => v.blob_key);
    });
  }

  /** The workspace a dataset belongs to, by its id alone; null when there is no such dataset. */
  async workspaceOf(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('datasets').select('workspace_id').where('id', '=', id).executeTakeFirst();
    return row?.workspace_id ?? null;
  }

  /** Bytes of the workspace's stored versions (Parquet, every version): what it holds against its quota. */
  async storedBytes(workspaceId: string): Promise<number> {
    const stored = await this.db
      .selectFrom('dataset_versions')
      .where('workspace_id', '=', workspaceId)
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('parquet_bytes'), sql<number>`0`).as('n'))
      .executeTakeFirst();
    return toNumber(stored?.n ?? 0);
  }

  // --- instance-wide statistics (src/analytics/platform.ts) ---

  /** Stored versions of every workspace, by workspace and each version's source format. */
  async storedByWorkspaceAndFormat(): Promise<(StoredSums & { workspaceId: string; sourceFormat: string })[]> {
    const rows = await this.db
      .selectFrom('dataset_versions')
      .select(['workspace_id', 'source_format', ...STORED_SUMS])
      .groupBy(['workspace_id', 'source_format'])
      .execute();
    return rows.map((r) => ({ workspaceId: r.workspace_id, sourceFormat: r.source_format, ...storedSums(r) }));
  }

  /** Datasets of every workspace, by workspace and their latest version's source format. */
  async countsByWorkspaceAndFormat(): Promise<{ workspaceId: string; format: string; datasets: number }[]> {
    const rows = await this.db
      .selectFrom('datasets')
      .select(['workspace_id', 'format', sql<number | string>`count(*)`.as('n')])
      .groupBy(['workspace_id', 'format'])
      .execute();
    return rows.map((r) => ({ workspaceId: r.workspace_id, format: r.format, datasets: toNumber(r.n) }));
  }

  /** Versions stored since `since`, by the UTC day they were created. */
  async storedPerDay(since: string): Promise<(StoredSums & { date: string })[]> {
    const rows = await this.db
      .selectFrom('dataset_versions')
      .select([utcDay(this.dialect, 'created_at').as('d'), ...STORED_SUMS])
      .where('created_at', '>=', since)
      .groupBy(sql`1`)
      .execute();
    return rows.map((r) => ({ date: r.d, ...storedSums(r) }));
  }

  /** The `limit` datasets holding the most Parquet bytes over all their versions, most first (ties by id). */
  async largestByParquetBytes(limit: number): Promise<(StoredSums & { datasetId: string })[]> {
    const rows = await this.db
      .selectFrom('dataset_versions')
      .select(['dataset_id', ...STORED_SUMS])
      .groupBy('dataset_id')
      .orderBy(sql`sum(parquet_bytes)`, 'desc')
      .orderBy('dataset_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ datasetId: r.dataset_id, ...storedSums(r) }));
  }

  /** These datasets (those that exist and have a latest version) with their latest version's row count. */
  async withLatestRowCounts(ids: string[]): Promise<{ id: string; name: string; workspaceId: string; rows: number }[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('datasets as d')
      .innerJoin('dataset_versions as v', 'v.id', 'd.latest_version_id')
      .select(['d.id', 'd.name', 'd.workspace_id', 'v.row_count'])
      .where('d.id', 'in', ids)
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, workspaceId: r.workspace_id, rows: toNumber(r.row_count) }));
  }

  // --- keep-last-N (the storage sweep) ---

  /** Datasets that keep only their newest versions, paged by id. */
  async datasetsKeepingVersions(
    afterId: string,
    limit: number,
  ): Promise<{ id: string; workspaceId: string; keep: number; latestVersionId: string | null }[]> {
    const rows = await this.db
      .selectFrom('datasets')
      .select(['id', 'workspace_id', 'keep_versions', 'latest_version_id'])
      .where('keep_versions', 'is not', null)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      workspaceId: r.workspace_id,
      keep: Number(r.keep_versions),
      latestVersionId: r.latest_version_id,
    }));
  }

  /** Every version of a dataset, with its number and blob. */
  async versionBlobs(datasetId: string): Promise<{ id: string; number: number; blobKey: string }[]> {
    const rows = await this.db
      .selectFrom('dataset_versions')
      .select(['id', 'number', 'blob_key'])
      .where('dataset_id', '=', datasetId)
      .execute();
    return rows.map((r) => ({ id: r.id, number: Number(r.number), blobKey: r.blob_key }));
  }

  /** Deletes these versions unless one became the dataset's latest; answers the ids deleted here. */
  async deleteVersionsExceptLatest(datasetId: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .deleteFrom('dataset_versions')
      .where('dataset_id', '=', datasetId)
      .where('id', 'in', ids)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('datasets')
              .select('datasets.id')
              .where('datasets.id', '=', datasetId)
              .whereRef('datasets.latest_version_id', '=', 'dataset_versions.id'),
          ),
        ),
      )
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Which of these version ids still have rows. */
  async existingVersionIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('dataset_versions').select('id').where('id', 'in', ids).execute();
    return new Set(rows.map((r) => r.id));
  }

  async totals(): Promise<{ datasets: number; versions: number; parquetBytes: number; sourceBytes: number }> {
    const [d, v] = await Promise.all([
      this.db
        .selectFrom('datasets')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
      this.db
        .selectFrom('dataset_versions')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('n'),
          eb.fn.coalesce(eb.fn.sum<number | string>('parquet_bytes'), sql<number>`0`).as('parquet'),
          eb.fn.coalesce(eb.fn.sum<number | string>('source_bytes'), sql<number>`0`).as('source'),
        ])
        .executeTakeFirstOrThrow(),
    ]);
    return {
      datasets: toNumber(d.n),
      versions: toNumber(v.n),
      parquetBytes: toNumber(v.parquet),
      sourceBytes: toNumber(v.source),
    };
  }
}

/** Creates the dataset (when new) and appends the version, within the caller's transaction. */
async function appendVersion(
  trx: Transaction<Database>,
  dataset: NewDataset | null,
  version: NewVersion,
  now: string,
): Promise<void> {
  if (dataset) {
    await trx
      .insertInto('datasets')
      .values({
        id: dataset.id,
        workspace_id: dataset.workspaceId,
        name: dataset.name,
        description: dataset.description,
        format: version.sourceFormat,
        latest_version_id: null,
        version_count: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    if (dataset.tags.length > 0)
      await trx
        .insertInto('dataset_tags')
        .values(dataset.tags.map((tag) => ({ dataset_id: dataset.id, tag })))
        .execute();
  }
  const current = await trx
    .selectFrom('datasets')
    .select('version_count')
    .where('id', '=', version.datasetId)
    .executeTakeFirstOrThrow();
  const number = current.version_count + 1;
  await trx
    .insertInto('dataset_versions')
    .values({
      id: version.id,
      dataset_id: version.datasetId,
      workspace_id: version.workspaceId,
      number,
      source_filename: version.sourceFilename,
      source_format: version.sourceFormat,
      source_encoding: version.sourceEncoding,
      source_bytes: version.sourceBytes,
      sha256: version.sha256,
      parquet_bytes: version.parquetBytes,
      row_count: version.rowCount,
      column_count: version.schema.length,
      schema_json: JSON.stringify(version.schema),
      profile_json: version.profileJson,
      blob_key: version.blobKey,
      created_at: now,
    })
    .execute();
  // The version_count guard makes a concurrent append lose with a unique violation instead of reusing a number.
  await trx
    .updateTable('datasets')
    .set({ latest_version_id: version.id, version_count: number, format: version.sourceFormat, updated_at: now })
    .where('id', '=', version.datasetId)
    .execute();
}
