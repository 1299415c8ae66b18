import type { FieldError } from '../../api/problem';
import type { JsonSchema } from '../../ui/json-schema';
import type { FormParameter } from '../../ui/SchemaForm';
import type { Definition, Pipeline, Step, TemplateParameter } from './api';

/**
 * The pipeline being edited: what the builder holds between saves. Steps carry a local key so React keeps each
 * step's form (and its focus) in place when steps are moved or removed.
 */
export interface DraftStep {
  key: number;
  value: Step;
}

export interface Draft {
  name: string;
  description: string;
  input: { datasetId: string; versionId?: string };
  steps: DraftStep[];
  /** The output dataset's name ('' leaves it to the server: "<pipeline name> output"). */
  outputName: string;
  parameters: TemplateParameter[];
}

let nextKey = 1;
export const newStepKey = (): number => nextKey++;

export function emptyDraft(datasetId = ''): Draft {
  return { name: '', description: '', input: { datasetId }, steps: [], outputName: '', parameters: [] };
}

export function draftOf(pipeline: Pick<Pipeline, 'name' | 'description' | 'definition'>): Draft {
  const d = pipeline.definition;
  return {
    name: pipeline.name,
    description: pipeline.description,
    input: { ...d.input },
    steps: d.steps.map((value) => ({ key: newStepKey(), value })),
    outputName: d.output?.name ?? '',
    parameters: d.parameters ?? [],
  };
}

/**
 * The definition the API receives. Output fields the builder does not edit (a pinned `datasetId`, a description)
 * are kept from the definition the draft was loaded from.
 */
export function definitionOf(draft: Draft, loaded?: Definition): Definition {
  const output = { ...loaded?.output };
  if (draft.outputName.trim()) output.name = draft.outputName.trim();
  else delete output.name;
  return {
    input: draft.input.versionId
      ? { datasetId: draft.input.datasetId, versionId: draft.input.versionId }
      : { datasetId: draft.input.datasetId },
    steps: draft.steps.map((s) => s.value),
    ...(Object.keys(output).length > 0 ? { output } : {}),
    ...(draft.parameters.length > 0 ? { parameters: draft.parameters } : {}),
  };
}

/** An API pointer without the `/body` a request-validation error may start with. */
export function bodyPointer(pointer: string): string {
  return pointer.startsWith('/body/') ? pointer.slice('/body'.length) : pointer;
}

/** The errors under `prefix` (e.g. `/definition/steps/2`), with pointers made relative to it. */
export function errorsUnder(errors: readonly FieldError[], prefix: string): FieldError[] {
  return errors.flatMap((e) => {
    const pointer = bodyPointer(e.pointer);
    if (pointer === prefix) return [{ pointer: '', message: e.message }];
    return pointer.startsWith(`${prefix}/`) ? [{ pointer: pointer.slice(prefix.length), message: e.message }] : [];
  });
}

/** The index of the step an error points into (`/definition/steps/2/...` → 2), or null. */
export function stepIndexOf(pointer: string): number | null {
  const m = /^\/definition\/steps\/(\d+)(\/|$)/.exec(bodyPointer(pointer));
  return m ? Number(m[1]) : null;
}

/** A template's parameter declarations, as a JSON schema (the API's TemplateParameter), so their form is generated. */
export const PARAMETERS_SCHEMA: JsonSchema = {
  type: 'array',
  maxItems: 100,
  description: 'Values given when the pipeline is previewed or run. Use $name in an expression.',
  items: {
    type: 'object',
    title: 'Parameter',
    required: ['name', 'type'],
    properties: {
      name: { type: 'string', description: 'A letter or _ then letters, digits or _' },
      type: { type: 'string', enum: ['number', 'integer', 'text', 'boolean', 'timestamp', 'date', 'column'] },
      description: { type: 'string' },
      default: {
        description: 'Used when a run gives no value',
        anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }],
      },
    },
  },
};

const VALUE_SCHEMA: Record<TemplateParameter['type'], JsonSchema> = {
  number: { type: 'number' },
  integer: { type: 'integer' },
  boolean: { type: 'boolean' },
  text: { type: 'string' },
  column: { type: 'string', pattern: '^.+$' },
  date: { type: 'string', description: 'YYYY-MM-DD' },
  timestamp: { type: 'string', description: 'ISO 8601, e.g. 2024-01-31T12:00:00Z' },
};

const VALUE_TYPE: Record<TemplateParameter['type'], FormParameter['type']> = {
  number: 'number',
  integer: 'integer',
  boolean: 'boolean',
  text: 'string',
  column: 'string',
  date: 'string',
  timestamp: 'string',
};

/** The declared parameters a step field may take instead of a value (those named so far). */
export function formParameters(parameters: readonly TemplateParameter[]): FormParameter[] {
  return parameters.filter((p) => p.name !== '').map((p) => ({ name: p.name, type: VALUE_TYPE[p.type] ?? 'string' }));
}

/** The form of a template's values: one field per declared parameter, required when it has no default. */
export function paramsSchema(parameters: readonly TemplateParameter[]): JsonSchema {
  return {
    type: 'object',
    required: parameters.filter((p) => p.default === undefined).map((p) => p.name),
    properties: Object.fromEntries(
      parameters
        .filter((p) => p.name)
        .map((p) => {
          const base = VALUE_SCHEMA[p.type] ?? { type: 'string' };
          return [
            p.name,
            {
              ...base,
              title: `$${p.name}`,
              description: [p.description, base.description].filter(Boolean).join(' · ') || undefined,
              ...(p.default !== undefined ? { default: p.default } : {}),
            },
          ];
        }),
    ),
  };
}
