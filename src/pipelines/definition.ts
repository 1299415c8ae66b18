/**
 * A pipeline as clients write it: an input dataset, an ordered list of typed steps, where the result goes and, for a
 * template, its parameters. The schema here checks the envelope only; each step is `{ type, ...fields }` with
 * fields checked by compilePipeline against its kind's schema, so an error points into the step (`/steps/2/columns/1`)
 * rather than at a union of every kind.
 */
import { Type, type Static } from 'typebox';
import { Id, StringEnum } from '../http/schema-types.js';
import type { DatasetRef } from './steps/types.js';

export type { DatasetRef } from './steps/types.js';

export const MAX_STEPS = 100;

export const DatasetRefSchema = Type.Object(
  {
    datasetId: Id('ds', 'The dataset to read'),
    versionId: Type.Optional(Id('dv', 'A pinned version of it; default the latest at run time')),
  },
  { additionalProperties: false },
);

export const PipelineStepSchema = Type.Object(
  { type: Type.String({ minLength: 1, maxLength: 64, description: 'The step kind, e.g. filter, derive, sort' }) },
  { additionalProperties: true, description: 'One step: its type and the fields of that kind' },
);

export const TEMPLATE_PARAMETER_TYPES = ['number', 'integer', 'text', 'boolean', 'timestamp', 'date', 'column'] as const;
export type TemplateParameterType = (typeof TEMPLATE_PARAMETER_TYPES)[number];

export const TemplateParameterSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', description: 'Used as $name in expressions' }),
    type: StringEnum(TEMPLATE_PARAMETER_TYPES),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    default: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const PipelineOutputSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Name of the new dataset' })),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    datasetId: Type.Optional(Id('ds', 'Append the result as a new version of this dataset instead')),
  },
  { additionalProperties: false },
);

export const PipelineDefinitionSchema = Type.Object(
  {
    input: DatasetRefSchema,
    steps: Type.Array(PipelineStepSchema, { maxItems: MAX_STEPS }),
    output: Type.Optional(PipelineOutputSchema),
    parameters: Type.Optional(Type.Array(TemplateParameterSchema, { maxItems: 100 })),
  },
  { additionalProperties: false, $id: 'PipelineDefinition' },
);

export type PipelineStep = { type: string } & Record<string, unknown>;
export type TemplateParameter = Static<typeof TemplateParameterSchema>;
export type PipelineOutput = Static<typeof PipelineOutputSchema>;

export interface PipelineDefinition {
  input: DatasetRef;
  steps: PipelineStep[];
  output?: PipelineOutput;
  parameters?: TemplateParameter[];
}
