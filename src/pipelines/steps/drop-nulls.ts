import { Type, type Static } from 'typebox';
import { ident } from '../../engine/sql.js';
import { StringEnum } from '../../http/schema-types.js';
import { ColumnName, requireColumns } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/** Drops rows with nulls in the given columns (default all): `any` drops a row with at least one, `all` (default `any`) only rows null in every one. NaN is a value, not a null. */
const DropNullsSchema = Type.Object(
  {
    type: Type.Literal('drop_nulls'),
    columns: Type.Optional(
      Type.Array(ColumnName, { minItems: 1, maxItems: 1000, description: 'Columns to look at (default all)' }),
    ),
    how: Type.Optional(
      StringEnum(['any', 'all'] as const, {
        description: "'any' (default): drop a row with a null in any of the columns; 'all': only when all are null",
      }),
    ),
  },
  { additionalProperties: false },
);

export type DropNullsStep = Static<typeof DropNullsSchema>;

function compile(step: DropNullsStep, input: StepInput): CompiledStep {
  const columns =
    step.columns === undefined ? input.schema : requireColumns(input.schema, step.columns, `${input.pointer}/columns`);
  const nulls = columns.map((c) => `${ident(c.name)} IS NULL`).join(step.how === 'all' ? ' AND ' : ' OR ');
  return { sql: `SELECT * FROM ${input.from} WHERE NOT (${nulls})`, params: [] };
}

export const dropNullsStep: StepKind<DropNullsStep> = {
  type: 'drop_nulls',
  summary: 'Drop rows with missing values',
  schema: DropNullsSchema,
  compile,
};
