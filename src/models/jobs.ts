import fs from 'node:fs/promises';
import { Type } from 'typebox';
import type { BlobStore } from '../blobs/types.js';
import type { Scratch } from '../blobs/scratch.js';
import { topics, type EventBus } from '../bus/types.js';
import type { DatasetService } from '../datasets/service.js';
import type { Engine } from '../engine/duckdb.js';
import { isAppError } from '../errors.js';
import { requireJobPermission, type JobGrants } from '../identity/job-grants.js';
import { JobFailure } from '../jobs/errors.js';
import type { JobSystem } from '../jobs/index.js';
import type { JobContext, JobDefinition } from '../jobs/types.js';
import { loadTrainingData } from './data.js';
import { MODEL_FIT_KIND, type FitOutput } from './fit.js';
import { TrainingInputError } from './ml/errors.js';
import type { ModelSpec } from './model.js';
import { ModelGoneError, type ModelRepo } from './repo.js';

export const MODEL_TRAIN_KIND = 'model.train';

/**
 * What a training job carries: the model, the version id reserved at enqueue (so every attempt writes the same
 * artifact key and a retry finds its own earlier registration), the spec as it was when queued (a retrain's
 * overrides included) and the dataset version resolved then.
 */
export interface ModelTrainPayload {
  v: 1;
  modelId: string;
  versionId: string;
  datasetVersionId: string;
  spec: ModelSpec;
}

export interface ModelTrainResult {
  modelId: string;
  versionId: string;
  number: number;
  algorithm: string;
}

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const PayloadSchema = Type.Object(
  {
    v: Type.Literal(1),
    modelId: Type.String({ pattern: `^mdl_${ULID}$` }),
    versionId: Type.String({ pattern: `^mv_${ULID}$` }),
    datasetVersionId: Type.String({ pattern: `^dv_${ULID}$` }),
    spec: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: false },
);

/** `models/<workspace>/<model>/<version>.json`: deterministic per version, so a retried attempt overwrites its own. */
export const artifactKey = (workspaceId: string, modelId: string, versionId: string): string =>
  `models/${workspaceId}/${modelId}/${versionId}.json`;

/** Events on `model:<id>`: `model.progress` (phase, algorithm, iteration, losses, ETA) and `model.version`. */
export const MODEL_EVENTS = { progress: 'model.progress', version: 'model.version' } as const;

/**
 * The training job: load the version's columns (worker process), fit in a job thread, store the artifact under
 * `models/`, register the version in one transaction keyed by the job id. A retry after a crash finds the version
 * registered (and returns it) or overwrites the artifact of the killed attempt; cancel terminates the thread.
 */
export function modelTrainJob(deps: {
  repo: ModelRepo;
  datasets: DatasetService;
  engine: Engine;
  blobs: BlobStore;
  scratch: Scratch;
  bus: EventBus;
  grants: JobGrants;
  jobs: Pick<JobSystem, 'runInThread'>;
  maxRows: number;
}): JobDefinition<ModelTrainPayload, ModelTrainResult> {
  return {
    kind: MODEL_TRAIN_KIND,
    payload: PayloadSchema,
    concurrency: 1,
    maxAttempts: 3,
    timeoutMs: 2 * 60 * 60_000,
    backoffMs: 2000,
    async handler(p, ctx) {
      const done = await deps.repo.versionByJob(ctx.jobId);
      if (done) return { modelId: p.modelId, versionId: done.id, number: done.number, algorithm: done.algorithm };
      const key = artifactKey(ctx.workspaceId, p.modelId, p.versionId);
      const publish = (type: string, data: unknown) =>
        void deps.bus.publish(topics.model(p.modelId), type, {
          modelId: p.modelId,
          jobId: ctx.jobId,
          ...(data as object),
        });
      let stored = false;
      try {
        const grants = await deps.grants.of(ctx.workspaceId, ctx.createdBy);
        requireJobPermission(grants, 'models:train', 'Training a model');
        if (!(await deps.repo.get(ctx.workspaceId, p.modelId)))
          throw new JobFailure('model_missing', `Model '${p.modelId}' no longer exists`, false);
        const { version } = await deps.datasets.resolveVersion(ctx.workspaceId, p.spec.datasetId, p.datasetVersionId);
        ctx.progress(2, 'loading');
        publish(MODEL_EVENTS.progress, { phase: 'loading', percent: 2 });
        const input = await loadTrainingData(deps, p.spec, version, deps.maxRows, ctx.signal);
        ctx.progress(10, 'fitting');
        const fitCtx: JobContext = {
          ...ctx,
          progress: (percent, message, data) => {
            ctx.progress(percent, message, data);
            publish(MODEL_EVENTS.progress, { percent, ...(data as object) });
          },
        };
        const out = (await deps.jobs.runInThread(MODEL_FIT_KIND, input, fitCtx)) as FitOutput;
        ctx.progress(92, 'storing');
        const file = deps.scratch.file('.json');
        const text = JSON.stringify(out.artifact);
        await fs.writeFile(file, text);
        stored = true;
        const blob = await deps.blobs.putFile(key, file);
        const registered = await deps.repo.registerVersion({
          id: p.versionId,
          modelId: p.modelId,
          workspaceId: ctx.workspaceId,
          algorithm: out.report.algorithm,
          params: out.report.params,
          features: p.spec.features,
          datasetId: p.spec.datasetId,
          datasetVersionId: version.id,
          report: out.report,
          artifactKey: key,
          artifactBytes: blob.bytes,
          trainingMs: out.trainingMs,
          jobId: ctx.jobId,
          createdBy: ctx.createdBy,
        });
        publish(MODEL_EVENTS.version, {
          versionId: registered.id,
          number: registered.number,
          algorithm: registered.algorithm,
        });
        ctx.log.info(
          { modelId: p.modelId, versionId: registered.id, algorithm: registered.algorithm },
          'model version registered',
        );
        return {
          modelId: p.modelId,
          versionId: registered.id,
          number: registered.number,
          algorithm: registered.algorithm,
        };
      } catch (e) {
        // An artifact whose version was not registered is dropped (a retry writes it again under the same key).
        if (stored && !(await deps.repo.versionByJob(ctx.jobId).catch(() => null)))
          await deps.blobs.delete(key).catch(() => {});
        if (e instanceof TrainingInputError)
          throw new JobFailure('model_input_invalid', e.message, false, [{ pointer: e.pointer, message: e.message }]);
        if (e instanceof ModelGoneError) throw new JobFailure('model_missing', e.message, false);
        if (isAppError(e) && e.status === 404) throw new JobFailure('model_input_missing', e.message, false);
        throw e;
      }
    },
  };
}
