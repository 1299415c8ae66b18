import { Type, type Static } from 'typebox';
import { ident } from '../../engine/sql.js';
import { ColumnName, requireColumns, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/** Keeps the listed columns in the listed order (`columns`), or every column but the listed ones in input order (`exclude`). */
const SelectSchema = Type.Object(
  {
    type: Type.Literal('select'),
    columns: Type.Optional(
      Type.Array(ColumnName, { minItems: 1, maxItems: 1000, description: 'Columns to keep, in this order' }),
    ),
    exclude: Type.Optional(
      Type.Array(ColumnName, { minItems: 1, maxItems: 1000, description: 'Columns to drop (instead of columns)' }),
    ),
  },
  { additionalProperties: false },
);

export type SelectStep = Static<typeof SelectSchema>;

function compile(step: SelectStep, input: StepInput): CompiledStep {
  if (step.columns !== undefined && step.exclude !== undefined)
    throw stepError(`${input.pointer}/exclude`, "give either 'columns' or 'exclude', not both");
  let kept: string[];
  if (step.columns !== undefined) {
    kept = requireColumns(input.schema, step.columns, `${input.pointer}/columns`).map((c) => c.name);
  } else if (step.exclude !== undefined) {
    const dropped = new Set(requireColumns(input.schema, step.exclude, `${input.pointer}/exclude`).map((c) => c.name));
    kept = input.schema.filter((c) => !dropped.has(c.name)).map((c) => c.name);
    if (kept.length === 0) throw stepError(`${input.pointer}/exclude`, 'cannot exclude every column');
  } else {
    throw stepError(`${input.pointer}/columns`, "missing required field 'columns' (or 'exclude')");
  }
  return { sql: `SELECT ${kept.map(ident).join(', ')} FROM ${input.from}`, params: [] };
}

export const selectStep: StepKind<SelectStep> = {
  type: 'select',
  summary: 'Keep some columns, in a given order, or drop some',
  schema: SelectSchema,
  compile,
};
