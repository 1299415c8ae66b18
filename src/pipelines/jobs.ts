import { Type } from 'typebox';
import type { DatasetService } from '../datasets/service.js';
import { inputError, isOutOfMemory } from '../engine/duckdb.js';
import { AppError } from '../errors.js';
import { requireJobPermission, type JobGrants } from '../identity/job-grants.js';
import { JobAborted, JobFailure } from '../jobs/errors.js';
import type { JobContext, JobDefinition } from '../jobs/types.js';
import type { PipelineRepo } from './repo.js';
import type { PipelineExecutor } from './run.js';
import { applyTemplate } from './template.js';

export const PIPELINE_RUN_KIND = 'pipeline.run';

/**
 * What a run job carries: the run (whose row holds the definition and parameter values) and the output ids
 * reserved when it was queued, so that every attempt writes the same version and a retry recognizes its own
 * earlier success instead of storing a second version.
 */
export interface PipelineRunPayload {
  v: 1;
  runId: string;
  outputDatasetId: string;
  outputVersionId: string;
  /** Set when the run creates its output dataset (with this name); otherwise it appends to `outputDatasetId`. */
  createDataset?: { name: string; description: string };
}

export interface PipelineRunResult {
  runId: string;
  datasetId: string;
  versionId: string;
  rowCount: number;
}

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const PayloadSchema = Type.Object(
  {
    v: Type.Literal(1),
    runId: Type.String({ pattern: `^run_${ULID}$` }),
    outputDatasetId: Type.String({ pattern: `^ds_${ULID}$` }),
    outputVersionId: Type.String({ pattern: `^dv_${ULID}$` }),
    createDataset: Type.Optional(
      Type.Object(
        { name: Type.String({ maxLength: 200 }), description: Type.String({ maxLength: 4000 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Share of the progress bar per phase: compiling up to 10, the statement up to 80, profiling, storing. */
const PROGRESS = { compiled: 10, running: 80, profiling: 85, storing: 95 };

/**
 * The run job: compile against the input as it is now (a definition that no longer fits fails for good with the
 * validation error), COPY the result to Parquet, profile it, store the version with its lineage. A cancelled
 * run leaves nothing: no scratch file, no blob, no version.
 */
export function pipelineRunJob(deps: {
  repo: PipelineRepo;
  executor: PipelineExecutor;
  datasets: DatasetService;
  grants: JobGrants;
}): JobDefinition<PipelineRunPayload, PipelineRunResult> {
  return {
    kind: PIPELINE_RUN_KIND,
    payload: PayloadSchema,
    concurrency: 2,
    maxAttempts: 3,
    timeoutMs: 2 * 60 * 60_000,
    backoffMs: 5000,
    async handler(p, ctx) {
      const run = await deps.repo.getRun(ctx.workspaceId, p.runId);
      if (!run) throw new JobFailure('run_missing', `Pipeline run '${p.runId}' no longer exists`, false);
      await deps.repo.markStarted(run.id);
      const started = performance.now();
      try {
        // Whoever queued the run must still be allowed to run it, and to add to the dataset it stores into.
        const grants = await deps.grants.of(ctx.workspaceId, ctx.createdBy);
        requireJobPermission(grants, 'pipelines:run', 'Running a pipeline');
        if (!p.createDataset)
          await deps.datasets.assertMayAppend(ctx.workspaceId, p.outputDatasetId, grants, { caller: 'job' });
        const applied = applyTemplate(run.definition, run.params);
        const steps = applied.definition.steps;
        ctx.progress(1, 'compiling', { step: 0, steps: steps.length });
        const definition = run.input.versionId
          ? { ...applied.definition, input: { ...applied.definition.input, versionId: run.input.versionId } }
          : applied.definition;
        const stored = await deps.executor.withCompiled(
          { workspaceId: ctx.workspaceId, definition, variables: applied.variables, signal: ctx.signal },
          async ({ pipeline, inputs }) => {
            pipeline.steps.forEach((s, i) => reportStep(ctx, i, pipeline.steps.length, s.type));
            const out = await deps.executor.materialize(pipeline, ctx.signal, (phase, percent) => {
              if (phase === 'running')
                ctx.progress(PROGRESS.compiled + ((PROGRESS.running - PROGRESS.compiled) * percent) / 100, 'running');
              else ctx.progress(PROGRESS.profiling, 'profiling');
            });
            ctx.progress(PROGRESS.storing, 'storing');
            const result = await deps.datasets.storeDerived({
              workspaceId: ctx.workspaceId,
              ...(p.createDataset
                ? { newDataset: { id: p.outputDatasetId, ...p.createDataset } }
                : { datasetId: p.outputDatasetId }),
              versionId: p.outputVersionId,
              parquetPath: out.parquetPath,
              sourceFilename: `${run.pipelineName}.parquet`,
              schema: out.schema,
              rowCount: out.profile.rowCount,
              profile: out.profile,
              log: ctx.log,
              signal: ctx.signal,
              lineage: {
                runId: run.id,
                pipelineId: run.pipelineId,
                pipelineVersion: run.pipelineVersion,
                pipelineName: run.pipelineName,
                inputs,
                steps,
                params: applied.params,
              },
            });
            return { inputVersionId: pipeline.input.versionId, version: result.version };
          },
        );
        if (p.createDataset && run.pipelineId) await deps.repo.setOutputDataset(run.pipelineId, p.outputDatasetId);
        const rowCount = stored.version.rowCount;
        await deps.repo.markSucceeded(run.id, {
          inputVersionId: stored.inputVersionId,
          outputDatasetId: p.outputDatasetId,
          outputVersionId: stored.version.id,
          rowCount,
          durationMs: performance.now() - started,
        });
        ctx.log.info({ runId: run.id, versionId: stored.version.id, rows: rowCount }, 'pipeline run stored its output');
        return { runId: run.id, datasetId: p.outputDatasetId, versionId: stored.version.id, rowCount };
      } catch (caught) {
        const e = dataError(caught) ?? limitError(caught) ?? caught;
        // A cancelled run ends cancelled; one refused by validation (the input changed) or by its data fails for
        // good. Anything else may be retried: the run reads as its job does until an attempt records the end.
        if (ctx.signal.aborted) {
          if (ctx.signal.reason instanceof JobAborted && ctx.signal.reason.reason === 'cancelled')
            await deps.repo.markEnded(run.id, 'cancelled', null);
        } else if (e instanceof AppError && e.status < 500) {
          await deps.repo.markEnded(run.id, 'failed', {
            code: e.code,
            message: e.message,
            ...(e.errors.length > 0 ? { details: e.errors } : {}),
          });
        } else if (e instanceof JobFailure) {
          await deps.repo.markEnded(run.id, 'failed', {
            code: e.code,
            message: e.message,
            ...(e.details ? { details: e.details } : {}),
          });
        }
        throw e;
      }
    },
  };
}

/**
 * DuckDB errors raised by the data while the statement runs (a `cast` with `onError: 'fail'` meeting text that is
 * no number, an overflow): the same data fails the same way on every attempt, so the run fails for good, naming
 * the value unless DuckDB's line quotes a file path. (A binder error cannot come from the data: the steps were bound
 * while compiling.)
 */
function dataError(e: unknown): JobFailure | null {
  const problem = inputError(e);
  if (problem === null || problem.kind === 'Binder') return null;
  const what = `${problem.kind} Error while running the pipeline`;
  const quotesPath = /\/|read_parquet/.test(problem.detail);
  return new JobFailure('pipeline_data_error', quotesPath ? what : `${what}: ${problem.detail.slice(0, 500)}`, false);
}

/**
 * A run that passed a limit fails for good: the same definition over the same data passes it again.
 * `pipeline_output_too_large`: its output (rows or bytes, counted before or while it was written) passed
 * WEIR_MAX_OUTPUT_ROWS or WEIR_MAX_OUTPUT_BYTES; `pipeline_out_of_memory`: DuckDB needed more memory and spill space
 * than WEIR_DUCKDB_MEMORY_LIMIT and WEIR_DUCKDB_TEMP_LIMIT allow.
 */
function limitError(e: unknown): JobFailure | null {
  if (e instanceof AppError && e.code === 'output_too_large')
    return new JobFailure('pipeline_output_too_large', e.message, false, e.errors.length > 0 ? e.errors : undefined);
  if (isOutOfMemory(e)) {
    return new JobFailure(
      'pipeline_out_of_memory',
      'The pipeline needed more memory and temporary disk than this server allows (WEIR_DUCKDB_MEMORY_LIMIT, ' +
        'WEIR_DUCKDB_TEMP_LIMIT) and was stopped; filter or aggregate earlier, join on keys that repeat less, or ask an administrator to raise the limits',
      false,
    );
  }
  return null;
}

function reportStep(ctx: JobContext, index: number, steps: number, type: string): void {
  ctx.progress(1 + ((PROGRESS.compiled - 1) * (index + 1)) / steps, `step ${index + 1}/${steps}: ${type}`, {
    step: index + 1,
    steps,
  });
}
