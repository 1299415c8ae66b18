import { isUniqueViolation } from '../db/index.js';
import { isOutOfMemory } from '../engine/duckdb.js';
import { AppError, errors, isAppError } from '../errors.js';
import { newId } from '../ids.js';
import type { JobService } from '../jobs/service.js';
import { waitUntilFinished } from '../jobs/wait.js';
import type { Log } from '../logger.js';
import type { Permission } from '../identity/permissions.js';
import type { PipelineDefinition } from './definition.js';
import { PIPELINE_RUN_KIND, type PipelineRunPayload } from './jobs.js';
import { lineageGraph } from './lineage.js';
import { outputTarget, requireOutputDataset } from './output.js';
import type { LineageGraph, Pipeline, PipelineRun, PipelineSummary, PipelineVersion, StoredRun } from './model.js';
import type { PipelineRepo } from './repo.js';
import type { DatasetService } from '../datasets/service.js';
import type { CompiledPipeline } from './compile.js';
import type { PipelineExecutor, PreviewResult } from './run.js';
import { applyDefaults, applyTemplate } from './template.js';

export interface RunAccepted {
  runId: string;
  jobId: string;
  status: 'queued' | 'running';
}

export interface RunRequest {
  workspaceId: string;
  createdBy: string | null;
  /** The caller's permissions: a run that adds a version to an existing dataset needs what appending to it takes. */
  grants: ReadonlySet<Permission>;
  params?: Record<string, unknown>;
  log: Log;
}

export interface PipelineServiceOptions {
  repo: PipelineRepo;
  datasets: Pick<DatasetService, 'findSource' | 'versionLabels' | 'assertMayAppend' | 'list'>;
  executor: PipelineExecutor;
  jobs: JobService;
  /** A preview's queries are interrupted after this long (ms). */
  previewTimeoutMs: number;
}

/**
 * Saved pipelines and their versions, previews, runs and lineage. A definition is compiled against the data it
 * names whenever it is saved, previewed or queued, so a client hears about an unknown column or a bad expression
 * at once, with a pointer into its request, instead of from a failed job.
 */
export class PipelineService {
  constructor(private readonly o: PipelineServiceOptions) {}

  async create(
    workspaceId: string,
    createdBy: string | null,
    body: { name: string; description?: string; definition: PipelineDefinition },
  ): Promise<Pipeline> {
    await this.validate(workspaceId, body.definition);
    const id = newId('pl');
    await this.o.repo
      .create({
        id,
        workspaceId,
        name: body.name,
        description: body.description ?? '',
        definition: body.definition,
        createdBy,
      })
      .catch((e: unknown) => {
        throw isUniqueViolation(e) ? nameTaken(body.name) : e;
      });
    return this.get(workspaceId, id);
  }

  list(q: {
    workspaceId: string;
    limit: number;
    offset: number;
    search?: string;
    name?: string;
  }): Promise<{ items: PipelineSummary[]; total: number }> {
    return this.o.repo.list(q);
  }

  async get(workspaceId: string, id: string): Promise<Pipeline> {
    const found = await this.o.repo.get(workspaceId, id);
    if (!found) throw errors.notFound('Pipeline', id);
    return found;
  }

  /** A new immutable version; the earlier ones stay readable. */
  async update(
    workspaceId: string,
    id: string,
    createdBy: string | null,
    body: { definition: PipelineDefinition; name?: string; description?: string },
  ): Promise<Pipeline> {
    await this.get(workspaceId, id);
    await this.validate(workspaceId, body.definition);
    const updated = await this.o.repo.addVersion(workspaceId, id, { ...body, createdBy }).catch((e: unknown) => {
      if (!isUniqueViolation(e)) throw e;
      // The name, or the version number another update took first.
      throw body.name !== undefined
        ? nameTaken(body.name)
        : errors.conflict(`Pipeline '${id}' was changed by another request; try again`);
    });
    if (!updated) throw errors.notFound('Pipeline', id);
    return this.get(workspaceId, id);
  }

  async versions(workspaceId: string, id: string): Promise<PipelineVersion[]> {
    await this.get(workspaceId, id);
    return this.o.repo.versions(id);
  }

  async version(workspaceId: string, id: string, version: number): Promise<PipelineVersion> {
    await this.get(workspaceId, id);
    const found = await this.o.repo.version(id, version);
    if (!found) throw errors.notFound('Pipeline version', String(version));
    return found;
  }

  /** The pipeline and its versions go; its runs and the lineage of what it made stay readable. */
  async delete(workspaceId: string, id: string): Promise<void> {
    if (!(await this.o.repo.delete(workspaceId, id))) throw errors.notFound('Pipeline', id);
  }

  /**
   * The first `limit` rows of the input and after each step; nothing is written. The queries are interrupted
   * after the preview time limit (422 `query_timeout`) or when the client goes away.
   */
  async preview(
    workspaceId: string,
    body: { definition: PipelineDefinition; params?: Record<string, unknown>; limit: number },
    clientGone?: AbortSignal,
  ): Promise<PreviewResult> {
    const applied = applyTemplate(body.definition, body.params);
    const timeout = AbortSignal.timeout(this.o.previewTimeoutMs);
    const signal = clientGone ? AbortSignal.any([timeout, clientGone]) : timeout;
    try {
      return await this.o.executor.withCompiled(
        { workspaceId, definition: applied.definition, variables: applied.variables, signal },
        ({ pipeline }) => this.o.executor.preview(pipeline, body.limit, signal),
      );
    } catch (e) {
      if (timeout.aborted) {
        throw new AppError(
          'query_timeout',
          `The preview took longer than ${this.o.previewTimeoutMs / 1000} s and was stopped; preview fewer rows or fewer steps`,
        );
      }
      if (isOutOfMemory(e)) {
        throw new AppError(
          'query_out_of_memory',
          'The preview needed more memory and temporary disk than this server allows (WEIR_DUCKDB_MEMORY_LIMIT, WEIR_DUCKDB_TEMP_LIMIT) and was stopped; preview fewer steps, or filter or aggregate earlier',
        );
      }
      throw e;
    }
  }

  /** Queues a run of the pipeline's current version; `inputVersionId` runs it over another version of its input. */
  async run(id: string, request: RunRequest & { inputVersionId?: string }): Promise<RunAccepted> {
    const pipeline = await this.get(request.workspaceId, id);
    const definition = request.inputVersionId
      ? { ...pipeline.definition, input: { ...pipeline.definition.input, versionId: request.inputVersionId } }
      : pipeline.definition;
    return this.submit(request, {
      definition,
      pipeline,
      inputPointer: request.inputVersionId ? '/inputVersionId' : undefined,
    });
  }

  /** Queues a run of a definition that is not saved (`weir pipelines run file.json`). */
  runAdHoc(request: RunRequest & { definition: PipelineDefinition; name?: string }): Promise<RunAccepted> {
    return this.submit(request, { definition: request.definition, name: request.name });
  }

  private async submit(
    request: RunRequest,
    what: { definition: PipelineDefinition; pipeline?: Pipeline; name?: string; inputPointer?: string },
  ): Promise<RunAccepted> {
    const { workspaceId } = request;
    const applied = applyTemplate(what.definition, request.params);
    // Checked now, so that a definition that does not fit its data is a 400 and not a failed job.
    const check = { workspaceId, definition: applied.definition, variables: applied.variables };
    await this.o.executor
      .withCompiled(check, ({ pipeline }) => this.refuseKnownOversize(pipeline))
      .catch((e: unknown) => {
        // An overriding input version that does not exist is the request's fault, at its own field.
        if (
          what.inputPointer &&
          e instanceof AppError &&
          e.status === 404 &&
          e.errors[0]?.pointer === '/definition/input/versionId'
        ) {
          throw new AppError('not_found', e.message, [{ pointer: what.inputPointer, message: e.message }]);
        }
        throw e;
      });
    const name = what.pipeline?.name ?? what.name ?? what.definition.output?.name ?? 'Ad-hoc pipeline';
    const output = await outputTarget(this.o.datasets, {
      workspaceId,
      grants: request.grants,
      definition: what.definition,
      pipeline: what.pipeline,
      name,
    });
    const runId = newId('run');
    await this.o.repo.insertRun({
      id: runId,
      pipelineId: what.pipeline?.id ?? null,
      pipelineVersion: what.pipeline?.version ?? null,
      pipelineName: name,
      workspaceId,
      definition: what.definition,
      inputDatasetId: what.definition.input.datasetId,
      inputVersionId: what.definition.input.versionId ?? null,
      outputDatasetId: output.outputDatasetId,
      params: applied.params,
      createdBy: request.createdBy,
    });
    try {
      const job = await this.o.jobs.enqueue(
        PIPELINE_RUN_KIND,
        { v: 1, runId, ...output } satisfies PipelineRunPayload,
        {
          workspaceId,
          createdBy: request.createdBy,
        },
      );
      await this.o.repo.attachJob(runId, job.id);
      request.log.info({ runId, jobId: job.id, pipelineId: what.pipeline?.id ?? null }, 'pipeline run queued');
      return { runId, jobId: job.id, status: 'queued' };
    } catch (e) {
      await this.o.repo.deleteRun(runId);
      throw e;
    }
  }

  async getRun(workspaceId: string, runId: string): Promise<PipelineRun> {
    const run = await this.o.repo.getRun(workspaceId, runId);
    if (!run) throw errors.notFound('Pipeline run', runId);
    return publicRun(run);
  }

  async runs(
    workspaceId: string,
    pipelineId: string,
    limit: number,
    offset: number,
  ): Promise<{ items: PipelineRun[]; total: number }> {
    await this.get(workspaceId, pipelineId);
    const { items, total } = await this.o.repo.listRuns(workspaceId, pipelineId, limit, offset);
    return { items: items.map(publicRun), total };
  }

  /** The run once it has finished, or as it is when `timeoutMs` runs out (or `signal` aborts). */
  waitForRun(workspaceId: string, runId: string, timeoutMs: number, signal?: AbortSignal): Promise<PipelineRun> {
    return waitUntilFinished(() => this.getRun(workspaceId, runId), timeoutMs, signal);
  }

  lineage(workspaceId: string, datasetId: string, versionId?: string): Promise<LineageGraph> {
    return lineageGraph(this.o.repo, this.o.datasets, workspaceId, datasetId, versionId);
  }

  /**
   * Compiles a definition about to be saved against its input as it is now. A template is compiled with its
   * defaults; one with a parameter that has no default can only be checked for structure until it runs.
   */
  private async validate(workspaceId: string, definition: PipelineDefinition): Promise<void> {
    await requireOutputDataset(this.o.datasets, workspaceId, definition);
    const applied = applyDefaults(definition);
    if (!applied) return;
    await this.o.executor.withCompiled(
      { workspaceId, definition: applied.definition, variables: applied.variables },
      ({ pipeline }) => this.refuseKnownOversize(pipeline),
    );
  }

  /**
   * 422 when work the pipeline knows the size of would pass WEIR_MAX_OUTPUT_ROWS, as far as it can be counted within
   * the preview time limit: a count that takes longer is left to the run, which counts again before it writes.
   */
  private async refuseKnownOversize(pipeline: CompiledPipeline): Promise<void> {
    const budget = AbortSignal.timeout(this.o.previewTimeoutMs);
    try {
      await this.o.executor.countKnownWork(pipeline, budget);
    } catch (e) {
      if (isAppError(e) || !budget.aborted) throw e;
    }
  }
}

function publicRun(run: StoredRun): PipelineRun {
  const { definition: _definition, ...rest } = run;
  return rest;
}

function nameTaken(name: string): AppError {
  return new AppError('conflict', `A pipeline named '${name}' already exists in this workspace`, [
    { pointer: '/name', message: 'is taken' },
  ]);
}
