import { Type, type Static } from 'typebox';
import { ident } from '../../engine/sql.js';
import { compileExpression, EXPR_LIMITS } from '../expr/index.js';
import { ColumnName, requireColumn, requireNewName } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Computes a column from an expression: appended as the last column, or, with `replace: true`, in place of an
 * existing column of that name (same position, the expression's type). Replacing a column that does not exist is
 * an error, so a typo does not silently add a column.
 */
const DeriveSchema = Type.Object(
  {
    type: Type.Literal('derive'),
    column: ColumnName,
    expression: Type.String({ minLength: 1, maxLength: EXPR_LIMITS.maxLength, description: 'e.g. price * qty' }),
    replace: Type.Optional(Type.Boolean({ description: 'Replace the existing column of that name (default false)' })),
  },
  { additionalProperties: false },
);

export type DeriveStep = Static<typeof DeriveSchema>;

function compile(step: DeriveStep, input: StepInput): CompiledStep {
  if (step.replace === true) requireColumn(input.schema, step.column, `${input.pointer}/column`);
  else requireNewName(input.schema, step.column, `${input.pointer}/column`);
  const value = compileExpression(step.expression, input.schema, {
    pointer: `${input.pointer}/expression`,
    paramOffset: input.paramOffset,
    variables: input.variables,
  });
  const derived = `${value.sql} AS ${ident(step.column)}`;
  const select =
    step.replace === true
      ? input.schema.map((c) => (c.name === step.column ? derived : ident(c.name)))
      : [...input.schema.map((c) => ident(c.name)), derived];
  return { sql: `SELECT ${select.join(', ')} FROM ${input.from}`, params: value.params };
}

export const deriveStep: StepKind<DeriveStep> = {
  type: 'derive',
  summary: 'Add a column computed from an expression, or replace one',
  schema: DeriveSchema,
  compile,
};
