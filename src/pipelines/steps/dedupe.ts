import { Type, type Static } from 'typebox';
import { ident } from '../../engine/sql.js';
import { StringEnum } from '../../http/schema-types.js';
import { ColumnName, requireColumn, requireColumns, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Removes duplicate rows. Without `columns`: rows equal in every column (SELECT DISTINCT). With `columns`: one row per
 * distinct key, the one with the smallest (`keep: 'first'`) or largest (`'last'`) `orderBy` value, or any one
 * (`'any'`, the default without `orderBy`). Rows whose `orderBy` value is null are kept only when the key has no
 * other; among equal `orderBy` values the row kept is any one of them.
 */
const DedupeSchema = Type.Object(
  {
    type: Type.Literal('dedupe'),
    columns: Type.Optional(
      Type.Array(ColumnName, { minItems: 1, maxItems: 1000, description: 'The key (default: all columns)' }),
    ),
    keep: Type.Optional(
      StringEnum(['first', 'last', 'any'] as const, {
        description: "Which row of a key: 'first' (default with orderBy), 'last', 'any'",
      }),
    ),
    orderBy: Type.Optional(ColumnName),
  },
  { additionalProperties: false },
);

export type DedupeStep = Static<typeof DedupeSchema>;

function compile(step: DedupeStep, input: StepInput): CompiledStep {
  const { pointer } = input;
  const keep = step.keep ?? (step.orderBy === undefined ? 'any' : 'first');
  if (step.columns === undefined) {
    if (step.orderBy !== undefined)
      throw stepError(`${pointer}/orderBy`, "'orderBy' needs 'columns' (the key): without it whole rows are compared");
    if (keep !== 'any')
      throw stepError(`${pointer}/keep`, "'keep' needs 'columns' (the key): without it whole rows are compared");
    return { sql: `SELECT DISTINCT * FROM ${input.from}`, params: [] };
  }
  const key = requireColumns(input.schema, step.columns, `${pointer}/columns`).map((c) => ident(c.name));
  if (keep !== 'any' && step.orderBy === undefined)
    throw stepError(`${pointer}/orderBy`, `missing required field 'orderBy' (for keep '${keep}')`);
  if (keep === 'any' && step.orderBy !== undefined)
    throw stepError(`${pointer}/keep`, "'any' ignores 'orderBy': use 'first' or 'last'");
  const order =
    step.orderBy === undefined
      ? ''
      : ` ORDER BY ${ident(requireColumn(input.schema, step.orderBy, `${pointer}/orderBy`).name)} ${keep === 'last' ? 'DESC' : 'ASC'} NULLS LAST`;
  return {
    sql: `SELECT * FROM ${input.from} QUALIFY row_number() OVER (PARTITION BY ${key.join(', ')}${order}) = 1`,
    params: [],
  };
}

export const dedupeStep: StepKind<DedupeStep> = {
  type: 'dedupe',
  summary: 'Remove duplicate rows, or keep one row per key',
  schema: DedupeSchema,
  compile,
};
