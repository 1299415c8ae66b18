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

export const TEMPLATE_PARAMETER_TYPES = [
  'number',
  'integer',
  'text',
  'boolean',
  'timestamp',
  'date',
  'column',
] as const;
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
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'The dataset to store into, by name: when one dataset of the workspace has exactly this name, the run adds a version to it ' +
          '(which needs `datasets:write`, and `datasets:delete` when it keeps only its newest versions); when none has, the run creates it; ' +
          'when several have, the run is refused (409, listing them in `candidates`): name one with `datasetId`',
      }),
    ),
    description: Type.Optional(
      Type.String({ maxLength: 4000, description: 'Description of a dataset the run creates' }),
    ),
    datasetId: Type.Optional(
      Id(
        'ds',
        'Add the result as a new version of this dataset (wins over `name`; needs what `name` needs to add a version)',
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Where the result goes. Without `datasetId` or `name`, a saved pipeline adds to the dataset its first run created ' +
      '("<pipeline name> output"), and an ad-hoc run creates a new dataset on every run',
  },
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
