import { Type, type Static } from 'typebox';
import { ident } from '../../engine/sql.js';
import { StringEnum } from '../../http/schema-types.js';
import { quoteForMessage } from '../expr/errors.js';
import { ColumnName, requireColumn, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Orders the rows by one or more columns; nulls last unless asked otherwise (for descending too). Steps that keep rows
 * in place (select, rename, cast, filter, derive, drop_nulls, fill_nulls with a constant) keep this order in DuckDB;
 * steps that group or window rows do not.
 */
const SortSchema = Type.Object(
  {
    type: Type.Literal('sort'),
    by: Type.Array(
      Type.Object(
        {
          column: ColumnName,
          descending: Type.Optional(Type.Boolean()),
          nulls: Type.Optional(
            StringEnum(['first', 'last'] as const, { description: "Where nulls go (default 'last')" }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);

export type SortStep = Static<typeof SortSchema>;

function compile(step: SortStep, input: StepInput): CompiledStep {
  const seen = new Set<string>();
  const keys = step.by.map((b, i) => {
    const at = `${input.pointer}/by/${i}/column`;
    const column = requireColumn(input.schema, b.column, at);
    if (seen.has(column.name)) throw stepError(at, `column ${quoteForMessage(column.name)} is listed twice`);
    seen.add(column.name);
    return `${ident(column.name)} ${b.descending === true ? 'DESC' : 'ASC'} NULLS ${b.nulls === 'first' ? 'FIRST' : 'LAST'}`;
  });
  return { sql: `SELECT * FROM ${input.from} ORDER BY ${keys.join(', ')}`, params: [] };
}

export const sortStep: StepKind<SortStep> = {
  type: 'sort',
  summary: 'Order the rows by columns',
  schema: SortSchema,
  compile,
};
