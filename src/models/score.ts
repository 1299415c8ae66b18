import fs from 'node:fs/promises';
import { Type } from 'typebox';
import type { Scratch } from '../blobs/scratch.js';
import type { DatasetService } from '../datasets/service.js';
import type { Engine } from '../engine/duckdb.js';
import { parquetSchema, profileParquet } from '../engine/profile.js';
import { ident, literal, typeFamily } from '../engine/sql.js';
import { requireJobPermission, type JobGrants } from '../identity/job-grants.js';
import { JobFailure } from '../jobs/errors.js';
import type { JobDefinition } from '../jobs/types.js';
import type { ArtifactCache } from './inference.js';
import { predictRows, PredictInputError } from './ml/tabular/predict.js';
import type { TabularModelArtifact } from './ml/tabular/train.js';
import type { ModelRepo } from './repo.js';

export const MODEL_SCORE_KIND = 'model.score';

/** A batch scoring: the model version and the output ids reserved when it was queued (a retry writes the same version). */
export interface ModelScorePayload {
  v: 1;
  modelId: string;
  modelVersionId: string;
  datasetId: string;
  datasetVersionId: string;
  outputDatasetId: string;
  outputVersionId: string;
  outputName: string;
  /** The name of the appended prediction column. */
  column: string;
}

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const PayloadSchema = Type.Object(
  {
    v: Type.Literal(1),
    modelId: Type.String({ pattern: `^mdl_${ULID}$` }),
    modelVersionId: Type.String({ pattern: `^mv_${ULID}$` }),
    datasetId: Type.String({ pattern: `^ds_${ULID}$` }),
    datasetVersionId: Type.String({ pattern: `^dv_${ULID}$` }),
    outputDatasetId: Type.String({ pattern: `^ds_${ULID}$` }),
    outputVersionId: Type.String({ pattern: `^dv_${ULID}$` }),
    outputName: Type.String({ minLength: 1, maxLength: 200 }),
    column: Type.String({ minLength: 1, maxLength: 300 }),
  },
  { additionalProperties: false },
);

/** A feature column as predictRows takes it: times as epoch ms, decimals as doubles, text as text. */
function projection(name: string, type: string, kind: string): string {
  const c = ident(name);
  if (kind === 'categorical') return `CAST(${c} AS VARCHAR)`;
  if (kind === 'time' && (typeFamily(type) === 'timestamp' || typeFamily(type) === 'date'))
    return `CAST(epoch_ms(CAST(${c} AS TIMESTAMP)) AS DOUBLE)`;
  if (kind === 'boolean') return `CAST(${c} AS BOOLEAN)`;
  return `CAST(${c} AS DOUBLE)`;
}

/**
 * Scores every row of a dataset version with a tabular model version and stores the rows with the prediction
 * appended as a new dataset (with lineage to the scored version). Rows keep their order (Parquet row numbers).
 */
export function modelScoreJob(deps: {
  repo: ModelRepo;
  artifacts: ArtifactCache;
  datasets: DatasetService;
  engine: Engine;
  scratch: Scratch;
  grants: JobGrants;
  maxRows: number;
}): JobDefinition<ModelScorePayload, { datasetId: string; versionId: string; rowCount: number }> {
  return {
    kind: MODEL_SCORE_KIND,
    payload: PayloadSchema,
    concurrency: 1,
    maxAttempts: 3,
    timeoutMs: 60 * 60_000,
    async handler(p, ctx) {
      const grants = await deps.grants.of(ctx.workspaceId, ctx.createdBy);
      requireJobPermission(grants, 'models:read', 'Scoring with a model');
      requireJobPermission(grants, 'datasets:write', 'Storing scored rows');
      const mv = await deps.repo.version(ctx.workspaceId, p.modelId, p.modelVersionId);
      if (!mv) throw new JobFailure('model_missing', `Model version '${p.modelVersionId}' no longer exists`, false);
      const loaded = await deps.artifacts.get(mv.id, mv.artifactKey);
      if (loaded.kind !== 'tabular')
        throw new JobFailure('model_input_invalid', 'Only tabular models score rows', false);
      const artifact = loaded as TabularModelArtifact;
      const { version } = await deps.datasets.resolveVersion(ctx.workspaceId, p.datasetId, p.datasetVersionId);
      if (version.rowCount > deps.maxRows)
        throw new JobFailure(
          'model_too_many_rows',
          `The version has ${version.rowCount} rows; scoring takes at most ${deps.maxRows} (WEIR_MODEL_MAX_ROWS)`,
          false,
        );
      const types = new Map(version.schema.map((c) => [c.name, c.type]));
      const missing = artifact.features.filter((f) => !types.has(f.name)).map((f) => f.name);
      if (missing.length > 0)
        throw new JobFailure(
          'model_input_invalid',
          `The dataset version lacks the model's features: ${missing.join(', ')}`,
          false,
        );
      if (types.has(p.column))
        throw new JobFailure('model_input_invalid', `The dataset version already has a column '${p.column}'`, false);
      const file = await deps.datasets.openFile(version);
      const predictionsPath = deps.scratch.file('.csv');
      const parquetPath = deps.scratch.file('.parquet');
      try {
        const source = `read_parquet(${literal(file.path)}, file_row_number = true)`;
        ctx.progress(5, 'reading');
        const rows = await deps.engine.all(
          `SELECT ${artifact.features.map((f, i) => `${projection(f.name, types.get(f.name)!, f.kind)} AS f${i}`).join(', ')} FROM ${source} ORDER BY file_row_number`,
          undefined,
          ctx.signal,
        );
        ctx.progress(30, 'predicting');
        const named = rows.map((r) =>
          Object.fromEntries(artifact.features.map((f, i) => [f.name, r[`f${i}`] ?? null])),
        );
        let predictions;
        try {
          predictions = predictRows(artifact, named);
        } catch (e) {
          if (e instanceof PredictInputError)
            throw new JobFailure('model_input_invalid', 'Some rows do not fit the model', false, e.errors);
          throw e;
        }
        const text = predictions.map((x, i) => `${i},${JSON.stringify(String(x.prediction))}`).join('\n');
        await fs.writeFile(predictionsPath, `rn,prediction\n${text}\n`);
        ctx.progress(60, 'writing');
        const predictionType = artifact.task === 'regression' ? 'DOUBLE' : 'VARCHAR';
        await deps.engine.run(
          `COPY (SELECT s.* EXCLUDE (file_row_number), CAST(p.prediction AS ${predictionType}) AS ${ident(p.column)} ` +
            `FROM ${source} AS s JOIN read_csv(${literal(predictionsPath)}, header = true, columns = {'rn': 'BIGINT', 'prediction': 'VARCHAR'}) AS p ` +
            `ON p.rn = s.file_row_number ORDER BY s.file_row_number) TO ${literal(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`,
          undefined,
          ctx.signal,
        );
        ctx.progress(80, 'profiling');
        const schema = await parquetSchema(deps.engine, parquetPath, ctx.signal);
        const profile = await profileParquet(deps.engine, parquetPath, schema, ctx.signal);
        const stored = await deps.datasets.storeDerived({
          workspaceId: ctx.workspaceId,
          newDataset: {
            id: p.outputDatasetId,
            name: p.outputName,
            description: `Scored with model version ${mv.number}`,
          },
          versionId: p.outputVersionId,
          parquetPath,
          sourceFilename: `${p.outputName}.parquet`,
          schema,
          rowCount: profile.rowCount,
          profile,
          log: ctx.log,
          signal: ctx.signal,
          lineage: {
            runId: ctx.jobId,
            pipelineId: null,
            pipelineVersion: null,
            pipelineName: `score: model ${p.modelId} v${mv.number}`,
            inputs: [{ datasetId: p.datasetId, versionId: version.id, role: 'input' }],
            steps: [{ type: 'model.score', modelId: p.modelId, modelVersionId: mv.id, column: p.column }],
            params: {},
          },
        });
        return { datasetId: p.outputDatasetId, versionId: stored.version.id, rowCount: stored.version.rowCount };
      } finally {
        await file.release();
        await deps.scratch.remove(predictionsPath, parquetPath);
      }
    },
  };
}
