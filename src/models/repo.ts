import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import { containsInAnyCase } from '../db/filters.js';
import type { ModelVersionsTable, ModelsTable } from '../db/types.js';
import { toIso, toNumber } from '../db/values.js';
import type { Task } from './ml/types.js';
import type { TrainingReport } from './ml/report.js';
import type { ModelLineage, ModelSpec, StoredModelVersion } from './model.js';

export interface ModelRow {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  task: Task;
  target: string;
  datasetId: string;
  spec: ModelSpec;
  currentVersionId: string | null;
  currentVersion: number | null;
  versionCount: number;
  lastJobId: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewModelVersion {
  id: string;
  modelId: string;
  workspaceId: string;
  algorithm: string;
  params: Record<string, unknown>;
  features: StoredModelVersion['features'];
  datasetId: string;
  datasetVersionId: string;
  report: TrainingReport;
  artifactKey: string;
  artifactBytes: number;
  trainingMs: number;
  jobId: string;
  createdBy: string | null;
}

export interface ModelListQuery {
  workspaceId: string;
  task?: string;
  datasetId?: string;
  q?: string;
  /** Exactly this name (how the CLI resolves a model named on the command line). */
  name?: string;
  limit: number;
  offset: number;
}

/** The only code that touches the `models` and `model_versions` tables. */
export class ModelRepo {
  constructor(private readonly db: Db) {}

  private modelQuery() {
    return this.db
      .selectFrom('models as m')
      .leftJoin('model_versions as cv', 'cv.id', 'm.current_version_id')
      .selectAll('m')
      .select((eb) => [
        'cv.number as current_number',
        eb
          .selectFrom('model_versions as v')
          .whereRef('v.model_id', '=', 'm.id')
          .select((e) => e.fn.countAll<number | string>().as('n'))
          .as('version_count'),
      ]);
  }

  async insert(m: {
    id: string;
    workspaceId: string;
    name: string;
    description: string;
    spec: ModelSpec;
    createdBy: string | null;
  }): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('models')
      .values({
        id: m.id,
        workspace_id: m.workspaceId,
        name: m.name,
        description: m.description,
        task: m.spec.task,
        target: m.spec.target,
        dataset_id: m.spec.datasetId,
        spec_json: JSON.stringify(m.spec),
        current_version_id: null,
        last_job_id: null,
        created_by: m.createdBy,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  async get(workspaceId: string, id: string): Promise<ModelRow | null> {
    const row = await this.modelQuery()
      .where('m.workspace_id', '=', workspaceId)
      .where('m.id', '=', id)
      .executeTakeFirst();
    return row ? toModel(row) : null;
  }

  async workspaceOf(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('models').select('workspace_id').where('id', '=', id).executeTakeFirst();
    return row?.workspace_id ?? null;
  }

  async list(q: ModelListQuery): Promise<{ items: ModelRow[]; total: number }> {
    let base = this.db.selectFrom('models as m').where('m.workspace_id', '=', q.workspaceId);
    if (q.task) base = base.where('m.task', '=', q.task);
    if (q.datasetId) base = base.where('m.dataset_id', '=', q.datasetId);
    if (q.name !== undefined) base = base.where('m.name', '=', q.name);
    if (q.q) base = base.where(containsInAnyCase('m.name', q.q));
    const total = await base.select((e) => e.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    const ids = await base
      .select('m.id')
      .orderBy('m.created_at', 'desc')
      .orderBy('m.id', 'desc')
      .limit(q.limit)
      .offset(q.offset)
      .execute();
    if (ids.length === 0) return { items: [], total: toNumber(total.n) };
    const rows = await this.modelQuery()
      .where(
        'm.id',
        'in',
        ids.map((r) => r.id),
      )
      .execute();
    const byId = new Map(rows.map((r) => [r.id, toModel(r)]));
    return { items: ids.map((r) => byId.get(r.id)!).filter(Boolean), total: toNumber(total.n) };
  }

  async update(
    workspaceId: string,
    id: string,
    patch: { name?: string; description?: string; spec?: ModelSpec },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('models')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.spec !== undefined ? { spec_json: JSON.stringify(patch.spec) } : {}),
        updated_at: new Date().toISOString(),
      })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setLastJob(id: string, jobId: string): Promise<void> {
    await this.db.updateTable('models').set({ last_job_id: jobId }).where('id', '=', id).execute();
  }

  /** Deletes the model and its versions; returns the artifact keys to delete from the blob store. */
  async delete(workspaceId: string, id: string): Promise<string[] | null> {
    return this.db.transaction().execute(async (trx) => {
      const keys = await trx
        .selectFrom('model_versions')
        .select('artifact_key')
        .where('model_id', '=', id)
        .where('workspace_id', '=', workspaceId)
        .execute();
      await trx
        .deleteFrom('model_versions')
        .where('model_id', '=', id)
        .where('workspace_id', '=', workspaceId)
        .execute();
      const r = await trx
        .deleteFrom('models')
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0 ? keys.map((k) => k.artifact_key) : null;
    });
  }

  /**
   * Registers a finished training, idempotently by job id: a retry whose earlier attempt already registered gets
   * that version back. The number is the next one of the model; the first version becomes current.
   */
  async registerVersion(v: NewModelVersion): Promise<StoredModelVersion> {
    const existing = await this.versionByJob(v.jobId);
    if (existing) return existing;
    await this.db.transaction().execute(async (trx) => {
      const model = await trx
        .selectFrom('models')
        .select(['id', 'current_version_id'])
        .where('id', '=', v.modelId)
        .executeTakeFirst();
      if (!model) throw new ModelGoneError(v.modelId);
      const max = await trx
        .selectFrom('model_versions')
        .select((e) => e.fn.max('number').as('n'))
        .where('model_id', '=', v.modelId)
        .executeTakeFirst();
      const number = toNumber((max?.n as number | string | null | undefined) ?? 0) + 1;
      await trx
        .insertInto('model_versions')
        .values({
          id: v.id,
          model_id: v.modelId,
          workspace_id: v.workspaceId,
          number,
          algorithm: v.algorithm,
          params_json: JSON.stringify(v.params),
          features_json: JSON.stringify(v.features),
          dataset_id: v.datasetId,
          dataset_version_id: v.datasetVersionId,
          report_json: JSON.stringify(v.report),
          artifact_key: v.artifactKey,
          artifact_bytes: v.artifactBytes,
          training_ms: v.trainingMs,
          job_id: v.jobId,
          created_by: v.createdBy,
          created_at: new Date().toISOString(),
        })
        .execute();
      await trx
        .updateTable('models')
        .set({
          updated_at: new Date().toISOString(),
          ...(model.current_version_id === null ? { current_version_id: v.id } : {}),
        })
        .where('id', '=', v.modelId)
        .execute();
    });
    return (await this.versionByJob(v.jobId))!;
  }

  /** Which of these blob keys a model version's artifact is (the storage sweep deletes the rest, src/storage/owners.ts). */
  async referencedArtifactKeys(keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('model_versions')
      .select('artifact_key')
      .where('artifact_key', 'in', keys)
      .execute();
    return new Set(rows.map((r) => r.artifact_key));
  }

  async versionByJob(jobId: string): Promise<StoredModelVersion | null> {
    const row = await this.versionQuery().where('v.job_id', '=', jobId).executeTakeFirst();
    return row ? toVersion(row) : null;
  }

  private versionQuery() {
    return this.db
      .selectFrom('model_versions as v')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .selectAll('v')
      .select('m.current_version_id');
  }

  /** `ref`: a version number or a version id. */
  async version(workspaceId: string, modelId: string, ref: string | number): Promise<StoredModelVersion | null> {
    let q = this.versionQuery().where('v.workspace_id', '=', workspaceId).where('v.model_id', '=', modelId);
    q = typeof ref === 'number' ? q.where('v.number', '=', ref) : q.where('v.id', '=', ref);
    const row = await q.executeTakeFirst();
    return row ? toVersion(row) : null;
  }

  /** The model's current version in one round trip (the predict path); null when the model or its version is missing. */
  async currentVersion(workspaceId: string, modelId: string): Promise<StoredModelVersion | null> {
    const row = await this.versionQuery()
      .where('m.workspace_id', '=', workspaceId)
      .where('m.id', '=', modelId)
      .whereRef('v.id', '=', 'm.current_version_id')
      .executeTakeFirst();
    return row ? toVersion(row) : null;
  }

  async versions(workspaceId: string, modelId: string): Promise<StoredModelVersion[]> {
    const rows = await this.versionQuery()
      .where('v.workspace_id', '=', workspaceId)
      .where('v.model_id', '=', modelId)
      .orderBy('v.number', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  async promote(modelId: string, versionId: string): Promise<void> {
    await this.db
      .updateTable('models')
      .set({ current_version_id: versionId, updated_at: new Date().toISOString() })
      .where('id', '=', modelId)
      .execute();
  }

  /** Deletes one version; when it was current, the newest remaining version becomes current. */
  async deleteVersion(modelId: string, versionId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('model_versions').where('id', '=', versionId).where('model_id', '=', modelId).execute();
      const model = await trx
        .selectFrom('models')
        .select('current_version_id')
        .where('id', '=', modelId)
        .executeTakeFirst();
      if (model?.current_version_id !== versionId) return;
      const next = await trx
        .selectFrom('model_versions')
        .select('id')
        .where('model_id', '=', modelId)
        .orderBy('number', 'desc')
        .executeTakeFirst();
      await trx
        .updateTable('models')
        .set({ current_version_id: next?.id ?? null })
        .where('id', '=', modelId)
        .execute();
    });
  }

  /** The model versions trained on any of these dataset versions. */
  async trainedOn(workspaceId: string, datasetVersionIds: string[]): Promise<ModelLineage[]> {
    if (datasetVersionIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('model_versions as v')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['v.model_id', 'm.name', 'v.id', 'v.number', 'v.dataset_version_id'])
      .where('v.workspace_id', '=', workspaceId)
      .where('v.dataset_version_id', 'in', datasetVersionIds)
      .orderBy('v.created_at')
      .execute();
    return rows.map((r) => ({
      modelId: r.model_id,
      modelName: r.name,
      versionId: r.id,
      number: r.number,
      datasetVersionId: r.dataset_version_id,
    }));
  }
}

export class ModelGoneError extends Error {
  constructor(readonly modelId: string) {
    super(`model '${modelId}' no longer exists`);
  }
}

function toModel(
  r: Selectable<ModelsTable> & { current_number: number | null; version_count: number | string | null },
): ModelRow {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    description: r.description,
    task: r.task as Task,
    target: r.target,
    datasetId: r.dataset_id,
    spec: JSON.parse(r.spec_json) as ModelSpec,
    currentVersionId: r.current_version_id,
    currentVersion: r.current_number,
    versionCount: toNumber(r.version_count ?? 0),
    lastJobId: r.last_job_id,
    createdBy: r.created_by,
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  };
}

function toVersion(r: Selectable<ModelVersionsTable> & { current_version_id: string | null }): StoredModelVersion {
  return {
    id: r.id,
    modelId: r.model_id,
    workspaceId: r.workspace_id,
    number: r.number,
    algorithm: r.algorithm,
    params: JSON.parse(r.params_json) as Record<string, unknown>,
    features: JSON.parse(r.features_json) as StoredModelVersion['features'],
    datasetId: r.dataset_id,
    datasetVersionId: r.dataset_version_id,
    report: JSON.parse(r.report_json) as TrainingReport,
    artifactKey: r.artifact_key,
    artifactBytes: toNumber(r.artifact_bytes),
    trainingMs: r.training_ms,
    jobId: r.job_id,
    current: r.current_version_id === r.id,
    createdBy: r.created_by,
    createdAt: toIso(r.created_at),
  };
}
