import { Type, type Static } from 'typebox';
import { compileExpression, EXPR_LIMITS } from '../expr/index.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/** Keeps the rows for which a condition of the expression language is true (null counts as false, as in SQL). */
const FilterSchema = Type.Object(
  {
    type: Type.Literal('filter'),
    expression: Type.String({
      minLength: 1,
      maxLength: EXPR_LIMITS.maxLength,
      description: "A condition, e.g. temperature > 30 and city = 'Berlin'",
    }),
  },
  { additionalProperties: false },
);

export type FilterStep = Static<typeof FilterSchema>;

function compile(step: FilterStep, input: StepInput): CompiledStep {
  const condition = compileExpression(step.expression, input.schema, {
    expect: 'boolean',
    pointer: `${input.pointer}/expression`,
    paramOffset: input.paramOffset,
    variables: input.variables,
  });
  return { sql: `SELECT * FROM ${input.from} WHERE ${condition.sql}`, params: condition.params };
}

export const filterStep: StepKind<FilterStep> = {
  type: 'filter',
  summary: 'Keep the rows matching a condition',
  schema: FilterSchema,
  compile,
};
