import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import { containsInAnyCase } from '../db/filters.js';
import type { DatasetLineageTable, JobsTable, PipelineRunsTable, PipelinesTable } from '../db/types.js';
import { toIso, toNumber } from '../db/values.js';
import type { JobError, JobStatus } from '../jobs/types.js';
import type { PipelineDefinition } from './definition.js';
import type { Lineage, Pipeline, PipelineSummary, PipelineVersion, RunStatus, StoredRun } from './model.js';

const FINISHED: readonly string[] = ['succeeded', 'failed', 'cancelled'];

export interface NewRun {
  id: string;
  pipelineId: string | null;
  pipelineVersion: number | null;
  pipelineName: string;
  workspaceId: string;
  definition: PipelineDefinition;
  inputDatasetId: string;
  inputVersionId: string | null;
  outputDatasetId: string | null;
  params: Record<string, unknown>;
  createdBy: string | null;
}

/** The only code that touches the pipelines tables (and reads lineage). */
export class PipelineRepo {
  constructor(private readonly db: Db) {}

  /** Inserts the pipeline with its version 1; a name taken in the workspace is a unique violation. */
  async create(p: {
    id: string;
    workspaceId: string;
    name: string;
    description: string;
    definition: PipelineDefinition;
    createdBy: string | null;
  }): Promise<void> {
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('pipelines')
        .values({
          id: p.id,
          workspace_id: p.workspaceId,
          name: p.name,
          description: p.description,
          current_version: 1,
          output_dataset_id: null,
          created_by: p.createdBy,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await trx
        .insertInto('pipeline_versions')
        .values({
          pipeline_id: p.id,
          version: 1,
          definition_json: JSON.stringify(p.definition),
          created_by: p.createdBy,
          created_at: now,
        })
        .execute();
    });
  }

  /**
   * Appends a version (and renames or re-describes). The current version guards the write: of two concurrent
   * updates the second fails on the versions' primary key instead of overwriting the first.
   */
  async addVersion(
    workspaceId: string,
    id: string,
    patch: { definition: PipelineDefinition; name?: string; description?: string; createdBy: string | null },
  ): Promise<boolean> {
    const now = new Date().toISOString();
    return this.db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('pipelines')
        .select('current_version')
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!current) return false;
      const version = current.current_version + 1;
      await trx
        .insertInto('pipeline_versions')
        .values({
          pipeline_id: id,
          version,
          definition_json: JSON.stringify(patch.definition),
          created_by: patch.createdBy,
          created_at: now,
        })
        .execute();
      await trx
        .updateTable('pipelines')
        .set({
          current_version: version,
          updated_at: now,
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
        })
        .where('id', '=', id)
        .execute();
      return true;
    });
  }

  async get(workspaceId: string, id: string): Promise<Pipeline | null> {
    const row = await this.db
      .selectFrom('pipelines as p')
      .innerJoin('pipeline_versions as v', (j) =>
        j.onRef('v.pipeline_id', '=', 'p.id').onRef('v.version', '=', 'p.current_version'),
      )
      .selectAll('p')
      .select('v.definition_json')
      .where('p.workspace_id', '=', workspaceId)
      .where('p.id', '=', id)
      .executeTakeFirst();
    return row ? { ...toPipeline(row), definition: JSON.parse(row.definition_json) as PipelineDefinition } : null;
  }

  async list(q: {
    workspaceId: string;
    limit: number;
    offset: number;
    search?: string;
    name?: string;
  }): Promise<{ items: PipelineSummary[]; total: number }> {
    let base = this.db.selectFrom('pipelines as p').where('p.workspace_id', '=', q.workspaceId);
    if (q.search) base = base.where(containsInAnyCase('p.name', q.search));
    if (q.name !== undefined) base = base.where('p.name', '=', q.name);
    const [rows, count] = await Promise.all([
      base
        .innerJoin('pipeline_versions as v', (j) =>
          j.onRef('v.pipeline_id', '=', 'p.id').onRef('v.version', '=', 'p.current_version'),
        )
        .selectAll('p')
        .select('v.definition_json')
        .orderBy('p.created_at', 'desc')
        .orderBy('p.id', 'desc')
        .limit(q.limit)
        .offset(q.offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    const items = rows.map((r) => {
      const definition = JSON.parse(r.definition_json) as PipelineDefinition;
      return {
        ...toPipeline(r),
        stepCount: definition.steps.length,
        template: (definition.parameters?.length ?? 0) > 0,
      };
    });
    return { items, total: toNumber(count.n) };
  }

  async versions(pipelineId: string): Promise<PipelineVersion[]> {
    const rows = await this.db
      .selectFrom('pipeline_versions')
      .selectAll()
      .where('pipeline_id', '=', pipelineId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((r) => ({
      pipelineId: r.pipeline_id,
      version: r.version,
      definition: JSON.parse(r.definition_json) as PipelineDefinition,
      createdBy: r.created_by,
      createdAt: toIso(r.created_at),
    }));
  }

  async version(pipelineId: string, version: number): Promise<PipelineVersion | null> {
    const r = await this.db
      .selectFrom('pipeline_versions')
      .selectAll()
      .where('pipeline_id', '=', pipelineId)
      .where('version', '=', version)
      .executeTakeFirst();
    return r
      ? {
          pipelineId: r.pipeline_id,
          version: r.version,
          definition: JSON.parse(r.definition_json) as PipelineDefinition,
          createdBy: r.created_by,
          createdAt: toIso(r.created_at),
        }
      : null;
  }

  /** Deletes the pipeline and its versions; runs and lineage stay. */
  async delete(workspaceId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('pipeline_versions')
        .where('pipeline_id', 'in', (eb) =>
          eb.selectFrom('pipelines').select('id').where('workspace_id', '=', workspaceId).where('id', '=', id),
        )
        .execute();
      const res = await trx
        .deleteFrom('pipelines')
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  /** The first run to create the output dataset records it; a later one leaves it (the first one wins). */
  async setOutputDataset(pipelineId: string, datasetId: string): Promise<void> {
    await this.db
      .updateTable('pipelines')
      .set({ output_dataset_id: datasetId })
      .where('id', '=', pipelineId)
      .where('output_dataset_id', 'is', null)
      .execute();
  }

  async insertRun(r: NewRun): Promise<void> {
    await this.db
      .insertInto('pipeline_runs')
      .values({
        id: r.id,
        pipeline_id: r.pipelineId,
        pipeline_version: r.pipelineVersion,
        pipeline_name: r.pipelineName,
        workspace_id: r.workspaceId,
        job_id: null,
        status: 'queued',
        definition_json: JSON.stringify(r.definition),
        input_dataset_id: r.inputDatasetId,
        input_version_id: r.inputVersionId,
        output_dataset_id: r.outputDatasetId,
        output_version_id: null,
        params_json: JSON.stringify(r.params),
        error_json: null,
        created_by: r.createdBy,
        created_at: new Date().toISOString(),
        started_at: null,
        finished_at: null,
        row_count: null,
        duration_ms: null,
      })
      .execute();
  }

  async attachJob(runId: string, jobId: string): Promise<void> {
    await this.db.updateTable('pipeline_runs').set({ job_id: jobId }).where('id', '=', runId).execute();
  }

  /** A run that could not be queued is removed again (nothing else refers to it yet). */
  async deleteRun(runId: string): Promise<void> {
    await this.db.deleteFrom('pipeline_runs').where('id', '=', runId).execute();
  }

  async markStarted(runId: string): Promise<void> {
    await this.db
      .updateTable('pipeline_runs')
      .set({ status: 'running', started_at: new Date().toISOString(), error_json: null })
      .where('id', '=', runId)
      .where('status', 'not in', FINISHED)
      .execute();
  }

  async markSucceeded(
    runId: string,
    o: {
      inputVersionId: string;
      outputDatasetId: string;
      outputVersionId: string;
      rowCount: number;
      durationMs: number;
    },
  ): Promise<void> {
    await this.db
      .updateTable('pipeline_runs')
      .set({
        status: 'succeeded',
        input_version_id: o.inputVersionId,
        output_dataset_id: o.outputDatasetId,
        output_version_id: o.outputVersionId,
        row_count: o.rowCount,
        duration_ms: Math.round(o.durationMs),
        finished_at: new Date().toISOString(),
        error_json: null,
      })
      .where('id', '=', runId)
      .execute();
  }

  async markEnded(runId: string, status: 'failed' | 'cancelled', error: JobError | null): Promise<void> {
    await this.db
      .updateTable('pipeline_runs')
      .set({ status, error_json: error ? JSON.stringify(error) : null, finished_at: new Date().toISOString() })
      .where('id', '=', runId)
      .where('status', 'not in', FINISHED)
      .execute();
  }

  async getRun(workspaceId: string, runId: string): Promise<StoredRun | null> {
    const row = await this.runs()
      .where('r.workspace_id', '=', workspaceId)
      .where('r.id', '=', runId)
      .executeTakeFirst();
    return row ? toRun(row) : null;
  }

  async listRuns(
    workspaceId: string,
    pipelineId: string,
    limit: number,
    offset: number,
  ): Promise<{ items: StoredRun[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.runs()
        .where('r.workspace_id', '=', workspaceId)
        .where('r.pipeline_id', '=', pipelineId)
        .orderBy('r.created_at', 'desc')
        .orderBy('r.id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute(),
      this.db
        .selectFrom('pipeline_runs')
        .where('workspace_id', '=', workspaceId)
        .where('pipeline_id', '=', pipelineId)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toRun), total: toNumber(count.n) };
  }

  /**
   * Runs with their job's state: until the handler records the end, the job is the truth (a run whose job timed
   * out, was cancelled while queued or lost its worker is read as the job ended).
   */
  private runs() {
    return this.db
      .selectFrom('pipeline_runs as r')
      .leftJoin('jobs as j', 'j.id', 'r.job_id')
      .selectAll('r')
      .select([
        'j.status as job_status',
        'j.error_code as job_error_code',
        'j.error_message as job_error_message',
        'j.error_details_json as job_error_details',
        'j.started_at as job_started_at',
        'j.finished_at as job_finished_at',
      ]);
  }

  async lineage(workspaceId: string, versionId: string): Promise<Lineage | null> {
    const r = await this.db
      .selectFrom('dataset_lineage')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('version_id', '=', versionId)
      .executeTakeFirst();
    return r ? toLineage(r) : null;
  }

  async lineages(workspaceId: string, versionIds: string[]): Promise<Lineage[]> {
    if (versionIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('dataset_lineage')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('version_id', 'in', versionIds)
      .execute();
    return rows.map(toLineage);
  }
}

function toPipeline(r: Selectable<PipelinesTable>): Omit<Pipeline, 'definition'> {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    description: r.description,
    version: r.current_version,
    outputDatasetId: r.output_dataset_id,
    createdBy: r.created_by,
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  };
}

type RunRow = Selectable<PipelineRunsTable> & {
  job_status: string | null;
  job_error_code: string | null;
  job_error_message: string | null;
  job_error_details: string | null;
  job_started_at: Selectable<JobsTable>['started_at'];
  job_finished_at: Selectable<JobsTable>['finished_at'];
};

function toRun(r: RunRow): StoredRun {
  const recorded = FINISHED.includes(r.status);
  const jobStatus = r.job_status as JobStatus | null;
  // A job that ended without the handler recording it (timeout after the last attempt, cancelled while queued, lost).
  const status: RunStatus =
    recorded || !jobStatus ? (r.status as RunStatus) : jobStatus === 'succeeded' ? 'running' : jobStatus;
  const jobError: JobError | null = r.job_error_code
    ? {
        code: r.job_error_code,
        message: r.job_error_message ?? '',
        ...(r.job_error_details ? { details: JSON.parse(r.job_error_details) as JobError['details'] } : {}),
      }
    : null;
  const error = r.error_json ? (JSON.parse(r.error_json) as JobError) : status === 'failed' ? jobError : null;
  const startedAt = r.started_at ?? r.job_started_at;
  const finishedAt = r.finished_at ?? (status === 'failed' || status === 'cancelled' ? r.job_finished_at : null);
  return {
    id: r.id,
    pipelineId: r.pipeline_id,
    pipelineVersion: r.pipeline_version,
    pipelineName: r.pipeline_name,
    workspaceId: r.workspace_id,
    jobId: r.job_id,
    status,
    input: { datasetId: r.input_dataset_id, versionId: r.input_version_id },
    output: { datasetId: r.output_dataset_id, versionId: r.output_version_id },
    params: JSON.parse(r.params_json) as Record<string, unknown>,
    error,
    rowCount: r.row_count === null ? null : toNumber(r.row_count),
    durationMs: r.duration_ms,
    createdBy: r.created_by,
    createdAt: toIso(r.created_at),
    startedAt: startedAt ? toIso(startedAt) : null,
    finishedAt: finishedAt ? toIso(finishedAt) : null,
    definition: JSON.parse(r.definition_json) as PipelineDefinition,
  };
}

function toLineage(r: Selectable<DatasetLineageTable>): Lineage {
  return {
    versionId: r.version_id,
    datasetId: r.dataset_id,
    runId: r.run_id,
    pipeline: { id: r.pipeline_id, version: r.pipeline_version, name: r.pipeline_name },
    inputs: JSON.parse(r.inputs_json) as Lineage['inputs'],
    steps: JSON.parse(r.steps_json) as Record<string, unknown>[],
    params: JSON.parse(r.params_json) as Record<string, unknown>,
    createdAt: toIso(r.created_at),
  };
}
