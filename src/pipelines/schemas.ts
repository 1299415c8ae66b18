import { Type } from 'typebox';
import { Id, NullableString, StringEnum } from '../http/schema-types.js';
import type { PipelineDefinition } from './definition.js';

/** HTTP shapes of /api/v1/pipelines and /api/v1/datasets/:id/lineage. The definition itself is `PipelineDefinition` (definition.ts). */

const Definition = Type.Unsafe<PipelineDefinition>(Type.Ref('PipelineDefinition'));
const AnyObject = (description?: string) =>
  Type.Object({}, { additionalProperties: true, ...(description ? { description } : {}) });
const Params = Type.Unsafe<Record<string, unknown>>(
  AnyObject('Template parameter values by name ({ "threshold": 10 }); declared defaults apply to the others'),
);
const NullableInteger = (description?: string) =>
  Type.Unsafe<number | null>({ type: ['integer', 'null'], ...(description ? { description } : {}) });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 4000 });
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = NullableString({ format: 'date-time' });

export const PipelineParams = Type.Object({ id: Id('pl', 'Pipeline id') });
export const PipelineVersionParams = Type.Object({
  id: Id('pl', 'Pipeline id'),
  version: Type.Integer({ minimum: 1 }),
});
export const RunParams = Type.Object({ runId: Id('run', 'Run id') });
export const LineageParams = Type.Object({ id: Id('ds', 'Dataset id') });
export const LineageQuery = Type.Object(
  { version: Type.Optional(Id('dv', 'Version id (default: the latest)')) },
  { additionalProperties: false },
);

export const CreateBody = Type.Object(
  { name: Name, description: Type.Optional(Description), definition: Definition },
  { additionalProperties: false },
);
export const UpdateBody = Type.Object(
  { definition: Definition, name: Type.Optional(Name), description: Type.Optional(Description) },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }),
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of the name' })),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Exactly this name, case-sensitive (a pipeline name is unique in its workspace)',
      }),
    ),
  },
  { additionalProperties: false },
);
export const RunsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }),
  },
  { additionalProperties: false },
);

export const MAX_PREVIEW_ROWS = 500;
export const PreviewBody = Type.Object(
  {
    definition: Definition,
    params: Type.Optional(Params),
    limit: Type.Integer({
      minimum: 1,
      maximum: MAX_PREVIEW_ROWS,
      default: 20,
      description: 'Rows shown after each step',
    }),
  },
  { additionalProperties: false },
);

const Wait = Type.Optional(
  Type.Boolean({ description: 'Answer when the run has finished (at most 60 s; 202 after that)' }),
);
export const WaitQuery = Type.Object({ wait: Type.Boolean({ default: false }) }, { additionalProperties: false });
export const RunBody = Type.Object(
  {
    inputVersionId: Type.Optional(Id('dv', 'Run over this version of the input instead of the pinned or latest one')),
    params: Type.Optional(Params),
    wait: Wait,
  },
  { additionalProperties: false },
);
export const AdHocRunBody = Type.Object(
  {
    definition: Definition,
    params: Type.Optional(Params),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'Name of the run (default: `output.name`, else "Ad-hoc pipeline"); without `output.name` a new dataset "<name> output" is created',
      }),
    ),
    wait: Wait,
  },
  { additionalProperties: false },
);

const Pipeline = {
  id: Type.String(),
  workspaceId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  version: Type.Integer({ description: 'The current version' }),
  outputDatasetId: NullableString({ description: 'The dataset runs append to; null until the first run created it' }),
  createdBy: NullableString(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};
export const PipelineSchema = Type.Object({ ...Pipeline, definition: Definition });
export const PipelineListResponse = Type.Object({
  items: Type.Array(
    Type.Object({
      ...Pipeline,
      stepCount: Type.Integer(),
      template: Type.Boolean({ description: 'Declares parameters' }),
    }),
  ),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const VersionSchema = Type.Object({
  pipelineId: Type.String(),
  version: Type.Integer(),
  definition: Definition,
  createdBy: NullableString(),
  createdAt: Timestamp,
});
export const VersionListResponse = Type.Object({ items: Type.Array(VersionSchema) });

const Columns = Type.Array(Type.Object({ name: Type.String(), type: Type.String() }));
const Rows = Type.Array(Type.Array(Type.Unknown()), {
  description: 'Rows as arrays in column order; timestamps ISO 8601 UTC',
});
export const PreviewResponse = Type.Object({
  input: Type.Object({ datasetId: Type.String(), versionId: Type.String(), columns: Columns, rows: Rows }),
  steps: Type.Array(Type.Object({ index: Type.Integer(), type: Type.String(), columns: Columns, rows: Rows })),
});

export const RunAcceptedSchema = Type.Object({
  runId: Type.String(),
  jobId: Type.String({
    description: 'Follow it at GET /api/v1/jobs/{jobId}, or the run at GET /api/v1/pipelines/runs/{runId}',
  }),
  status: StringEnum(['queued', 'running'] as const),
});

const JobErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(
    Type.Array(Type.Object({ pointer: Type.String(), message: Type.String() }, { additionalProperties: true })),
  ),
});
export const RunSchema = Type.Object({
  id: Type.String(),
  pipelineId: NullableString({ description: 'null for an ad-hoc run' }),
  pipelineVersion: NullableInteger(),
  pipelineName: Type.String(),
  workspaceId: Type.String(),
  jobId: NullableString(),
  status: StringEnum(['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const),
  input: Type.Object({
    datasetId: Type.String(),
    versionId: NullableString({ description: 'The version read (set once the run has read it, or when pinned)' }),
  }),
  output: Type.Object({ datasetId: NullableString(), versionId: NullableString() }),
  params: AnyObject('Parameter values, defaults included'),
  error: Type.Union([JobErrorSchema, Type.Null()]),
  rowCount: NullableInteger(),
  durationMs: NullableInteger(),
  createdBy: NullableString(),
  createdAt: Timestamp,
  startedAt: NullableTimestamp,
  finishedAt: NullableTimestamp,
});
export const RunListResponse = Type.Object({
  items: Type.Array(RunSchema),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const LineageInputSchema = Type.Object({
  datasetId: Type.String(),
  versionId: Type.String(),
  role: StringEnum(['input', 'join'] as const),
  stepIndex: Type.Optional(Type.Integer()),
});
const LineageSchema = Type.Object({
  versionId: Type.String(),
  datasetId: Type.String(),
  runId: Type.String(),
  pipeline: Type.Object({
    id: NullableString(),
    version: NullableInteger(),
    name: Type.String({ description: 'As it was named when it ran' }),
  }),
  inputs: Type.Array(LineageInputSchema),
  steps: Type.Array(AnyObject(), { description: 'The steps run, template parameters substituted' }),
  params: AnyObject(),
  createdAt: Timestamp,
});
export const LineageResponse = Type.Object({
  datasetId: Type.String(),
  versionId: Type.String(),
  lineage: Type.Union([LineageSchema, Type.Null()], { description: 'null for a version that was uploaded' }),
  nodes: Type.Array(
    Type.Object({
      datasetId: Type.String(),
      versionId: Type.String(),
      datasetName: NullableString({ description: 'null when deleted since' }),
      versionNumber: NullableInteger(),
      runId: NullableString({ description: 'The run that made it; null for an upload' }),
    }),
  ),
  edges: Type.Array(
    Type.Object({
      from: Type.String({ description: 'Input version id' }),
      to: Type.String({ description: 'Output version id' }),
      role: StringEnum(['input', 'join'] as const),
      stepIndex: Type.Optional(Type.Integer({ description: 'The join step that read it (0-based)' })),
      pipelineId: NullableString({ description: 'null for an ad-hoc run' }),
      pipelineVersion: NullableInteger(),
      pipelineName: Type.String({ description: 'The pipeline (or ad-hoc run) as it was named when it ran' }),
      runId: Type.String(),
    }),
  ),
  truncated: Type.Boolean({ description: 'The walk stopped at its depth bound (50 generations)' }),
  models: Type.Array(
    Type.Object({
      modelId: Type.String(),
      modelName: Type.String(),
      versionId: Type.String({ description: 'The model version trained on this dataset version' }),
      number: Type.Integer(),
    }),
    { description: 'Model versions trained on this dataset version, oldest first' },
  ),
});
