import type { BlobStore } from '../blobs/types.js';
import type { DatasetService } from '../datasets/service.js';
import { isUniqueViolation } from '../db/index.js';
import { errors } from '../errors.js';
import type { JobService } from '../jobs/service.js';
import type { Job } from '../jobs/types.js';
import type { Log } from '../logger.js';
import { newId } from '../ids.js';
import { forecastFrom, type ForecastModelArtifact } from './ml/forecast/train.js';
import { FORECAST_ALGORITHMS } from './ml/forecast/algorithms.js';
import { tabularAlgorithmNames } from './ml/tabular/algorithms.js';
import { predictRows, PredictInputError, type TabularPrediction } from './ml/tabular/predict.js';
import type { TabularModelArtifact } from './ml/tabular/train.js';
import { ArtifactCache } from './inference.js';
import { loadTrainingData } from './data.js';
import { TrainingInputError } from './ml/errors.js';
import type { Engine } from '../engine/duckdb.js';
import { MODEL_TRAIN_KIND, type ModelTrainPayload } from './jobs.js';
import { MODEL_SCORE_KIND, type ModelScorePayload } from './score.js';
import type { Model, ModelLineage, ModelSpec, ModelVersion, StoredModelVersion } from './model.js';
import type { ModelListQuery, ModelRepo, ModelRow } from './repo.js';
import { resolveSpec, type TrainingRequest } from './spec.js';
import { horizonErrorChart, importanceChart, lossChart, type ModelChartData, type ModelChartName } from './charts.js';
import { forecastResidualsChart, forecastWindowChart, regressionResidualsChart } from './chart-windows.js';

export interface TrainAccepted {
  model: Model;
  job: Job;
}

/** Registry, training, and inference of models; routes stay thin over it. */
export class ModelService {
  private readonly artifacts: ArtifactCache;

  constructor(
    private readonly o: {
      repo: ModelRepo;
      datasets: DatasetService;
      jobs: JobService;
      blobs: BlobStore;
      engine: Engine;
      maxRows: number;
      artifacts?: ArtifactCache;
    },
  ) {
    this.artifacts = o.artifacts ?? new ArtifactCache(o.blobs);
  }

  private algorithmsFor(task: ModelSpec['task']): string[] {
    return task === 'forecast' ? [...FORECAST_ALGORITHMS.keys()] : tabularAlgorithmNames();
  }

  /** Resolves the request against its dataset version; 400 with pointers when it does not fit. */
  private async resolve(workspaceId: string, req: TrainingRequest) {
    // A live dataset is read as an immutable version holding every record stored so far.
    if (!req.versionId) await this.o.datasets.settle(workspaceId, req.datasetId);
    const { version } = await this.o.datasets
      .resolveVersion(workspaceId, req.datasetId, req.versionId)
      .catch((e: unknown) => {
        throw rethrowAt(e, req.versionId ? '/versionId' : '/datasetId');
      });
    const spec = resolveSpec(req, version, {
      pinned: req.versionId !== undefined,
      maxRows: this.o.maxRows,
      algorithms: this.algorithmsFor(req.task),
    });
    return { spec, version };
  }

  private async enqueueTraining(
    workspaceId: string,
    createdBy: string | null,
    modelId: string,
    spec: ModelSpec,
    datasetVersionId: string,
  ): Promise<Job> {
    const payload: ModelTrainPayload = { v: 1, modelId, versionId: newId('mv'), datasetVersionId, spec };
    const job = await this.o.jobs.enqueue(MODEL_TRAIN_KIND, payload, { workspaceId, createdBy });
    await this.o.repo.setLastJob(modelId, job.id);
    return job;
  }

  async create(
    workspaceId: string,
    createdBy: string | null,
    req: TrainingRequest & { name: string; description?: string },
  ): Promise<TrainAccepted> {
    const { spec, version } = await this.resolve(workspaceId, req);
    const id = newId('mdl');
    try {
      await this.o.repo.insert({
        id,
        workspaceId,
        name: req.name,
        description: req.description ?? '',
        spec,
        createdBy,
      });
    } catch (e) {
      if (isUniqueViolation(e))
        throw errors.validation(`A model named '${req.name}' already exists`, [
          { pointer: '/name', message: 'is taken in this workspace' },
        ]);
      throw e;
    }
    const job = await this.enqueueTraining(workspaceId, createdBy, id, spec, version.id);
    return { model: await this.get(workspaceId, id), job };
  }

  /** Trains a new version with the model's spec, overridden by the request (e.g. a newer dataset version). */
  async retrain(
    workspaceId: string,
    createdBy: string | null,
    id: string,
    overrides: Partial<TrainingRequest>,
  ): Promise<TrainAccepted> {
    const row = await this.row(workspaceId, id);
    const s = row.spec;
    const req: TrainingRequest = {
      datasetId: s.datasetId,
      ...(s.versionId ? { versionId: s.versionId } : {}),
      task: s.task,
      target: s.target,
      features: s.task === 'forecast' && s.features.length === 0 ? undefined : s.features.map((f) => f.name),
      ...(s.timeColumn ? { timeColumn: s.timeColumn } : {}),
      ...(s.seriesColumn ? { seriesColumn: s.seriesColumn } : {}),
      ...(s.horizon !== null ? { horizon: s.horizon } : {}),
      ...(s.lookback !== null ? { lookback: s.lookback } : {}),
      algorithm: s.algorithm,
      params: s.params,
      ...(s.split ? { split: s.split } : {}),
      scaling: s.scaling,
      ...(s.budgetSeconds !== null ? { budgetSeconds: s.budgetSeconds } : {}),
      seed: s.seed,
      ...overrides,
    };
    const { spec, version } = await this.resolve(workspaceId, req);
    await this.o.repo.update(workspaceId, id, { spec });
    const job = await this.enqueueTraining(workspaceId, createdBy, id, spec, version.id);
    return { model: await this.get(workspaceId, id), job };
  }

  private async row(workspaceId: string, id: string): Promise<ModelRow> {
    const row = await this.o.repo.get(workspaceId, id);
    if (!row) throw errors.notFound('Model', id);
    return row;
  }

  private async present(workspaceId: string, row: ModelRow): Promise<Model> {
    const job = row.lastJobId ? await this.o.jobs.find(workspaceId, row.lastJobId) : null;
    const { lastJobId: _unused, ...rest } = row;
    return { ...rest, training: job ? { jobId: job.id, status: job.status } : null };
  }

  async get(workspaceId: string, id: string): Promise<Model> {
    return this.present(workspaceId, await this.row(workspaceId, id));
  }

  workspaceOf(id: string): Promise<string | null> {
    return this.o.repo.workspaceOf(id);
  }

  async list(q: ModelListQuery): Promise<{ items: Model[]; total: number }> {
    const { items, total } = await this.o.repo.list(q);
    return { items: await Promise.all(items.map((r) => this.present(q.workspaceId, r))), total };
  }

  async update(workspaceId: string, id: string, patch: { name?: string; description?: string }): Promise<Model> {
    await this.row(workspaceId, id);
    try {
      await this.o.repo.update(workspaceId, id, patch);
    } catch (e) {
      if (isUniqueViolation(e))
        throw errors.validation(`A model named '${patch.name}' already exists`, [
          { pointer: '/name', message: 'is taken in this workspace' },
        ]);
      throw e;
    }
    return this.get(workspaceId, id);
  }

  /** Deletes the model, its versions and their artifacts. A training still running fails when it registers. */
  async delete(workspaceId: string, id: string, log: Log): Promise<void> {
    const versions = await this.o.repo.versions(workspaceId, id);
    const keys = await this.o.repo.delete(workspaceId, id);
    if (keys === null) throw errors.notFound('Model', id);
    for (const v of versions) this.artifacts.drop(v.id);
    for (const key of keys)
      await this.o.blobs.delete(key).catch((err: unknown) => log.warn({ err, key }, 'model artifact not deleted'));
  }

  private async storedVersion(workspaceId: string, id: string, ref: string): Promise<StoredModelVersion> {
    await this.row(workspaceId, id);
    const v = await this.o.repo.version(workspaceId, id, /^\d+$/.test(ref) ? Number(ref) : ref);
    if (!v) throw errors.notFound('Model version', ref);
    return v;
  }

  async versions(workspaceId: string, id: string): Promise<ModelVersion[]> {
    await this.row(workspaceId, id);
    return (await this.o.repo.versions(workspaceId, id)).map(publicVersion);
  }

  async version(workspaceId: string, id: string, ref: string): Promise<ModelVersion> {
    return publicVersion(await this.storedVersion(workspaceId, id, ref));
  }

  async deleteVersion(workspaceId: string, id: string, ref: string, log: Log): Promise<void> {
    const v = await this.storedVersion(workspaceId, id, ref);
    await this.o.repo.deleteVersion(id, v.id);
    this.artifacts.drop(v.id);
    await this.o.blobs
      .delete(v.artifactKey)
      .catch((err: unknown) => log.warn({ err, key: v.artifactKey }, 'model artifact not deleted'));
  }

  async promote(workspaceId: string, id: string, ref: string): Promise<Model> {
    const v = await this.storedVersion(workspaceId, id, ref);
    await this.o.repo.promote(id, v.id);
    return this.get(workspaceId, id);
  }

  /** Two versions side by side: their params and test metrics, and per metric of each algorithm b − a. */
  async compare(workspaceId: string, id: string, a: string, b: string) {
    const [va, vb] = await Promise.all([
      this.storedVersion(workspaceId, id, a),
      this.storedVersion(workspaceId, id, b),
    ]);
    const differences: {
      algorithm: string;
      metric: string;
      a: number | null;
      b: number | null;
      delta: number | null;
    }[] = [];
    for (const algorithm of new Set([...Object.keys(va.report.metrics), ...Object.keys(vb.report.metrics)])) {
      const ma = va.report.metrics[algorithm]?.original ?? {};
      const mb = vb.report.metrics[algorithm]?.original ?? {};
      for (const metric of new Set([...Object.keys(ma), ...Object.keys(mb)])) {
        const x = ma[metric] ?? null;
        const y = mb[metric] ?? null;
        differences.push({ algorithm, metric, a: x, b: y, delta: x !== null && y !== null ? y - x : null });
      }
    }
    return { a: publicVersion(va), b: publicVersion(vb), differences };
  }

  /** The version to serve: the one asked for, else the current one (409 while the model has none yet). */
  private async servingVersion(workspaceId: string, id: string, ref?: string): Promise<StoredModelVersion> {
    if (ref !== undefined) return this.storedVersion(workspaceId, id, ref);
    const current = await this.o.repo.currentVersion(workspaceId, id);
    if (current) return current;
    const row = await this.row(workspaceId, id);
    if (!row.currentVersionId) throw errors.conflict(`Model '${id}' has no trained version yet`);
    return this.storedVersion(workspaceId, id, row.currentVersionId);
  }

  async predict(workspaceId: string, id: string, rows: Record<string, unknown>[], ref?: string) {
    const v = await this.servingVersion(workspaceId, id, ref);
    const artifact = await this.artifacts.get(v.id, v.artifactKey);
    if (artifact.kind !== 'tabular')
      throw errors.badRequest('A forecast model forecasts: use POST /models/:id/forecast', [
        { pointer: '/rows', message: 'this model takes no rows' },
      ]);
    let predictions: TabularPrediction[];
    try {
      predictions = predictRows(artifact as TabularModelArtifact, rows);
    } catch (e) {
      if (e instanceof PredictInputError) throw errors.validation('Some rows do not fit the model', e.errors);
      throw e;
    }
    return { modelId: id, versionId: v.id, number: v.number, predictions };
  }

  /** Forecasts from the end of the input dataset's latest version (or the given one). */
  async forecast(
    workspaceId: string,
    id: string,
    req: { horizon?: number; datasetVersionId?: string; levels?: number[]; version?: string },
  ) {
    const v = await this.servingVersion(workspaceId, id, req.version);
    const artifact = await this.artifacts.get(v.id, v.artifactKey);
    if (artifact.kind !== 'forecast')
      throw errors.badRequest('A tabular model predicts rows: use POST /models/:id/predict');
    const f = artifact as ForecastModelArtifact;
    const horizon = req.horizon ?? f.horizon;
    const row = await this.row(workspaceId, id);
    const { version } = await this.o.datasets
      .resolveVersion(workspaceId, v.datasetId, req.datasetVersionId)
      .catch((e: unknown) => {
        throw rethrowAt(e, '/datasetVersionId');
      });
    const history = await loadTrainingData(
      this.o,
      row.spec,
      version,
      this.o.maxRows,
      AbortSignal.timeout(60_000),
    ).catch((e: unknown) => {
      if (e instanceof TrainingInputError)
        throw errors.validation(e.message, [{ pointer: '/datasetVersionId', message: e.message }]);
      throw e;
    });
    if (history.kind !== 'forecast') throw new Error('forecast model without a forecast spec');
    const times = history.input.times;
    const lastTime = times && times.length > 0 ? times[times.length - 1]! : null;
    return {
      modelId: id,
      versionId: v.id,
      number: v.number,
      datasetVersionId: version.id,
      horizon,
      ...forecastOrRefuse(() =>
        forecastFrom(f, history.input.series, horizon, lastTime, req.levels, history.input.exogenous),
      ),
    };
  }

  /**
   * Queues a batch scoring of a dataset version with the current (or given) tabular version: the rows with the
   * prediction appended become the first version of a new dataset named `outputName`.
   */
  async score(
    workspaceId: string,
    createdBy: string | null,
    id: string,
    req: { datasetId: string; versionId?: string; outputName: string; column?: string; version?: string },
  ): Promise<{ job: Job; outputDatasetId: string; outputVersionId: string }> {
    const v = await this.servingVersion(workspaceId, id, req.version);
    if (v.report.task === 'forecast')
      throw errors.badRequest('A forecast model does not score rows', [
        { pointer: '/datasetId', message: 'use POST /models/:id/forecast' },
      ]);
    // A live dataset is read as an immutable version holding every record stored so far.
    if (!req.versionId) await this.o.datasets.settle(workspaceId, req.datasetId);
    const { version } = await this.o.datasets
      .resolveVersion(workspaceId, req.datasetId, req.versionId)
      .catch((e: unknown) => {
        throw rethrowAt(e, req.versionId ? '/versionId' : '/datasetId');
      });
    const columns = new Set(version.schema.map((c) => c.name));
    const column = req.column ?? 'prediction';
    const problems = v.features
      .map((f, i) => ({ f, i }))
      .filter(({ f }) => !columns.has(f.name))
      .map(({ f }) => ({
        pointer: '/datasetId',
        message: `the dataset version has no column '${f.name}' (a feature of the model)`,
      }));
    if (columns.has(column))
      problems.push({
        pointer: req.column ? '/column' : '/datasetId',
        message: `the dataset version already has a column '${column}'`,
      });
    if (problems.length > 0) throw errors.validation('The dataset does not fit the model', problems);
    const payload: ModelScorePayload = {
      v: 1,
      modelId: id,
      modelVersionId: v.id,
      datasetId: req.datasetId,
      datasetVersionId: version.id,
      outputDatasetId: newId('ds'),
      outputVersionId: newId('dv'),
      outputName: req.outputName,
      column,
    };
    const job = await this.o.jobs.enqueue(MODEL_SCORE_KIND, payload, { workspaceId, createdBy });
    return { job, outputDatasetId: payload.outputDatasetId, outputVersionId: payload.outputVersionId };
  }

  /**
   * The data of a chart of a version. The forecast and residual charts run the version again on the exact dataset
   * version it learned from; the others read its report. A chart the task has no meaning for is a 400.
   */
  async chart(
    workspaceId: string,
    id: string,
    ref: string,
    chart: ModelChartName,
  ): Promise<{ modelName: string; version: ModelVersion; data: ModelChartData }> {
    const row = await this.row(workspaceId, id);
    const v = await this.storedVersion(workspaceId, id, ref);
    const answer = (data: ModelChartData) => ({ modelName: row.name, version: publicVersion(v), data });
    const refuse = (why: string) =>
      errors.badRequest(`No ${chart} chart: ${why}`, [{ pointer: '/params/chart', message: why }]);
    if (chart === 'loss') return answer(lossChart(v.report));
    if (chart === 'importance') return answer(importanceChart(v.report));
    if (chart === 'horizon-error') {
      if (v.report.task !== 'forecast') throw refuse('the model is not a forecast');
      return answer(horizonErrorChart(v.report));
    }
    if (chart === 'forecast' && v.report.task !== 'forecast') throw refuse('the model is not a forecast');
    if (chart === 'residuals' && v.report.task === 'classification') throw refuse('a classification has no residuals');
    const artifact = await this.artifacts.get(v.id, v.artifactKey);
    const { version } = await this.o.datasets.resolveVersion(workspaceId, v.datasetId, v.datasetVersionId);
    const data = await loadTrainingData(this.o, row.spec, version, this.o.maxRows, AbortSignal.timeout(60_000)).catch(
      (e: unknown) => {
        if (e instanceof TrainingInputError) throw refuse(e.message);
        throw e;
      },
    );
    if (artifact.kind === 'forecast' && data.kind === 'forecast') {
      try {
        const f = artifact as ForecastModelArtifact;
        return answer(chart === 'forecast' ? forecastWindowChart(f, data) : forecastResidualsChart(f, data));
      } catch (e) {
        if (e instanceof RangeError) throw refuse(e.message);
        throw e;
      }
    }
    if (artifact.kind === 'tabular' && data.kind === 'tabular')
      return answer(regressionResidualsChart(artifact as TabularModelArtifact, data));
    throw new Error(`model ${id}: the artifact (${artifact.kind}) does not match the spec (${data.kind})`);
  }

  /** For GET /datasets/:id/lineage: the model versions trained on these dataset versions. */
  trainedOn(workspaceId: string, datasetVersionIds: string[]): Promise<ModelLineage[]> {
    return this.o.repo.trainedOn(workspaceId, datasetVersionIds);
  }
}

/** What forecastFrom refuses (a horizon past the model's, a missing last time) is the request's to fix: 400. */
function forecastOrRefuse<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof TrainingInputError)
      throw errors.validation(e.message, [{ pointer: e.pointer, message: e.message }]);
    throw e;
  }
}

function publicVersion(v: StoredModelVersion): ModelVersion {
  const { artifactKey: _key, workspaceId: _ws, ...rest } = v;
  return rest;
}

/** A missing dataset or version named in the body is a 400 pointing at it, not a bare 404 of the route. */
function rethrowAt(e: unknown, pointer: string): unknown {
  if (e instanceof Error && 'status' in e && (e as { status: number }).status === 404)
    return errors.validation(e.message, [{ pointer, message: e.message }]);
  return e;
}
