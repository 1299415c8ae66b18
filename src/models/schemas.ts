import { Type } from 'typebox';
import { Id, NullableString, StringEnum } from '../http/schema-types.js';
import type { Job } from '../jobs/types.js';
import type { TrainingReport } from './ml/report.js';
import type { ModelSpec } from './model.js';
import { chartPresentationQuery } from '../analytics/schemas.js';
import { MODEL_CHARTS, type ModelChartData } from './charts.js';

/** HTTP shapes of /api/v1/models. The training report is plain JSON (TrainingReport, src/models/ml/report.ts). */

const AnyObject = (description: string) =>
  Type.Unsafe<Record<string, unknown>>(Type.Object({}, { additionalProperties: true, description }));
const OpaqueObject = <T>(description: string) =>
  Type.Unsafe<T>(Type.Object({}, { additionalProperties: true, description }));
const NullableInteger = (description?: string) =>
  Type.Unsafe<number | null>({ type: ['integer', 'null'], ...(description ? { description } : {}) });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Column = Type.String({ minLength: 1, maxLength: 300 });
const Task = StringEnum(['forecast', 'regression', 'classification'] as const);
const Scaling = StringEnum(['standard', 'minmax', 'robust', 'none'] as const);
const FeatureSpec = Type.Object({
  name: Type.String(),
  kind: StringEnum(['numeric', 'categorical', 'boolean', 'time'] as const),
});

export const ModelParams = Type.Object({ id: Id('mdl', 'Model id') });
export const ModelVersionParams = Type.Object({
  id: Id('mdl', 'Model id'),
  version: Type.String({
    pattern: '^([1-9][0-9]{0,8}|mv_[0-9A-HJKMNP-TV-Z]{26})$',
    description: 'Version number or id',
  }),
});

/** The training fields a retrain may override. */
const trainingFields = {
  versionId: Type.Optional(Id('dv', 'Dataset version to train on (default: the latest at each training)')),
  features: Type.Optional(
    Type.Array(Column, { maxItems: 500, description: 'Feature columns (default: every usable column but the target)' }),
  ),
  timeColumn: Type.Optional(Column),
  seriesColumn: Type.Optional(Column),
  horizon: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Forecast: steps ahead' })),
  lookback: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  algorithm: Type.Optional(
    Type.String({ minLength: 1, maxLength: 50, description: "An algorithm name or 'auto' (default)" }),
  ),
  params: Type.Optional(AnyObject('Hyper-parameters of the algorithm')),
  split: Type.Optional(
    Type.Object(
      {
        train: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
        validation: Type.Number({
          exclusiveMinimum: 0,
          exclusiveMaximum: 1,
          description: 'End of validation (train + validation share)',
        }),
      },
      { additionalProperties: false },
    ),
  ),
  scaling: Type.Optional(Scaling),
  budgetSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
};

export const CreateModelBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    datasetId: Id('ds', 'Dataset to train on'),
    task: Task,
    target: Column,
    ...trainingFields,
  },
  { additionalProperties: false },
);

export const RetrainBody = Type.Object(
  {
    datasetId: Type.Optional(Id('ds', 'Another dataset with the same columns')),
    target: Type.Optional(Column),
    ...trainingFields,
  },
  { additionalProperties: false },
);

export const UpdateModelBody = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Type.String({ maxLength: 4000 })) },
  { additionalProperties: false, minProperties: 1 },
);

export const ModelListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }),
    task: Type.Optional(Task),
    datasetId: Type.Optional(Id('ds', 'Models trained on this dataset')),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of the name' })),
    search: Type.Optional(
      Type.String({ maxLength: 200, description: 'Same as q (the name the other list endpoints use)' }),
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Exactly this name' })),
  },
  { additionalProperties: false },
);

export const ModelSchema = Type.Object({
  id: Type.String(),
  workspaceId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  task: Task,
  target: Type.String(),
  datasetId: Type.String(),
  spec: OpaqueObject<ModelSpec>('The resolved training spec'),
  currentVersionId: NullableString(),
  currentVersion: NullableInteger(),
  versionCount: Type.Integer(),
  training: Type.Union([Type.Object({ jobId: Type.String(), status: Type.String() }), Type.Null()], {
    description: 'The latest training job',
  }),
  createdBy: NullableString(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const ModelVersionSchema = Type.Object({
  id: Type.String(),
  modelId: Type.String(),
  number: Type.Integer(),
  algorithm: Type.String(),
  params: AnyObject('Hyper-parameters as used'),
  features: Type.Array(FeatureSpec),
  datasetId: Type.String(),
  datasetVersionId: Type.String({ description: 'The dataset version it learned from' }),
  report: OpaqueObject<TrainingReport>(
    'TrainingReport: leaderboard, test metrics of the model and every baseline, losses, importance',
  ),
  artifactBytes: Type.Integer(),
  trainingMs: Type.Integer(),
  jobId: Type.String(),
  current: Type.Boolean(),
  createdBy: NullableString(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const ModelListResponse = Type.Object({
  items: Type.Array(ModelSchema),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
export const VersionListResponse = Type.Object({ items: Type.Array(ModelVersionSchema) });
export const TrainAcceptedSchema = Type.Object({ model: ModelSchema, job: OpaqueObject<Job>('The training job') });

export const CompareQuery = Type.Object(
  { a: ModelVersionParams.properties.version, b: ModelVersionParams.properties.version },
  { additionalProperties: false },
);
export const CompareResponse = Type.Object({
  a: ModelVersionSchema,
  b: ModelVersionSchema,
  differences: Type.Array(
    Type.Object({
      algorithm: Type.String(),
      metric: Type.String(),
      a: Type.Union([Type.Number(), Type.Null()]),
      b: Type.Union([Type.Number(), Type.Null()]),
      delta: Type.Union([Type.Number(), Type.Null()], { description: 'b − a' }),
    }),
  ),
});

export const PredictBody = Type.Object(
  {
    rows: Type.Array(AnyObject('Feature values by column name'), { minItems: 1, maxItems: 10_000 }),
    version: Type.Optional(ModelVersionParams.properties.version),
  },
  { additionalProperties: false },
);
export const PredictResponse = Type.Object({
  modelId: Type.String(),
  versionId: Type.String(),
  number: Type.Integer(),
  predictions: Type.Array(
    Type.Object({
      prediction: Type.Union([Type.Number(), Type.String()]),
      probabilities: Type.Optional(Type.Record(Type.String(), Type.Number())),
    }),
  ),
});

export const ForecastBody = Type.Object(
  {
    horizon: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    datasetVersionId: Type.Optional(Id('dv', 'Forecast from the end of this version (default: the latest)')),
    levels: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), { maxItems: 5 })),
    version: Type.Optional(ModelVersionParams.properties.version),
  },
  { additionalProperties: false },
);
export const ForecastResponse = Type.Object({
  modelId: Type.String(),
  versionId: Type.String(),
  number: Type.Integer(),
  datasetVersionId: Type.String(),
  horizon: Type.Integer(),
  times: Type.Union([Type.Array(Type.Number()), Type.Null()], {
    description: 'Epoch ms of each step; null without a time step',
  }),
  series: Type.Array(
    Type.Object({
      name: Type.String(),
      values: Type.Array(Type.Number()),
      intervals: Type.Array(
        Type.Object({ level: Type.Number(), lower: Type.Array(Type.Number()), upper: Type.Array(Type.Number()) }),
      ),
    }),
  ),
});

export const ScoreBody = Type.Object(
  {
    datasetId: Id('ds', 'Dataset to score'),
    versionId: Type.Optional(Id('dv', 'Its version (default: the latest)')),
    outputName: Name,
    column: Type.Optional(Column),
    version: Type.Optional(ModelVersionParams.properties.version),
  },
  { additionalProperties: false },
);
export const ScoreAcceptedSchema = Type.Object({
  job: OpaqueObject<Job>('The model.score job'),
  outputDatasetId: Type.String({ description: 'The dataset the scored rows become (once the job succeeds)' }),
  outputVersionId: Type.String(),
});
export const ModelChartParams = Type.Object({
  id: ModelVersionParams.properties.id,
  version: ModelVersionParams.properties.version,
  chart: StringEnum(MODEL_CHARTS, {
    description:
      'forecast: actual vs forecast over the last window of the test part, with the widest interval band; residuals: actual − ' +
      'predicted (forecast: per horizon step over that window; regression: against the prediction over the test part); loss: the ' +
      'train/validation loss curve; importance: gain or permutation importance per feature; horizon-error: test MSE per horizon ' +
      'step of the model and each baseline',
  }),
});
export const ModelChartQuery = Type.Object(
  chartPresentationQuery('Chart title (default: the chart, the model and the version; empty: none)'),
  { additionalProperties: false },
);
export const ModelChartResponse = Type.Object({
  modelId: Type.String(),
  versionId: Type.String(),
  number: Type.Integer(),
  chart: StringEnum(MODEL_CHARTS),
  data: OpaqueObject<ModelChartData>(
    'The numbers drawn; the shape depends on `chart` (see ModelChartData in src/models/charts.ts)',
  ),
});
