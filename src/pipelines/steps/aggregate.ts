import { Type, type Static } from 'typebox';
import { ident, isNumeric } from '../../engine/sql.js';
import { quoteForMessage } from '../expr/errors.js';
import { ColumnName, requireColumn, requireColumns, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Group rows and summarise them: one row per group (ordered by the group keys, nulls last), or exactly one row
 * without `groupBy`, also over no rows (count 0, every other function null).
 *
 * `first`/`last` are the first/last non-null value in the input's order: put a sort step before for a defined one.
 */

const AggregateSchema = Type.Object(
  {
    type: Type.Literal('aggregate'),
    groupBy: Type.Optional(Type.Array(ColumnName)),
    aggregations: Type.Array(
      Type.Object(
        {
          column: Type.Optional(
            Type.String({
              ...ColumnName,
              description:
                'Input column; only count may leave it out (rows, where count of a column counts its non-null values)',
            }),
          ),
          function: Type.Union([
            Type.Literal('count'),
            Type.Literal('count_distinct'),
            Type.Literal('sum'),
            Type.Literal('mean'),
            Type.Literal('min'),
            Type.Literal('max'),
            Type.Literal('median'),
            Type.Literal('stddev'),
            Type.Literal('first'),
            Type.Literal('last'),
            Type.Literal('p25'),
            Type.Literal('p75'),
            Type.Literal('p90'),
            Type.Literal('p95'),
            Type.Literal('p99'),
          ]),
          as: Type.String({ ...ColumnName, description: 'Output column name' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export type AggregateStep = Static<typeof AggregateSchema>;
type AggregateFunction = AggregateStep['aggregations'][number]['function'];

/** SQL of each function over the quoted column `c`; the ones that do arithmetic refuse non-numeric columns. */
const SQL: Record<AggregateFunction, { numeric: boolean; sql: (c: string) => string }> = {
  count: { numeric: false, sql: (c) => `count(${c})` },
  count_distinct: { numeric: false, sql: (c) => `count(DISTINCT ${c})` },
  sum: { numeric: true, sql: (c) => `sum(${c})` },
  mean: { numeric: true, sql: (c) => `avg(${c})` },
  min: { numeric: false, sql: (c) => `min(${c})` },
  max: { numeric: false, sql: (c) => `max(${c})` },
  median: { numeric: true, sql: (c) => `quantile_cont(${c}, 0.5)` },
  stddev: { numeric: true, sql: (c) => `stddev_samp(${c})` },
  first: { numeric: false, sql: (c) => `first(${c}) FILTER (WHERE ${c} IS NOT NULL)` },
  last: { numeric: false, sql: (c) => `last(${c}) FILTER (WHERE ${c} IS NOT NULL)` },
  p25: { numeric: true, sql: (c) => `quantile_cont(${c}, 0.25)` },
  p75: { numeric: true, sql: (c) => `quantile_cont(${c}, 0.75)` },
  p90: { numeric: true, sql: (c) => `quantile_cont(${c}, 0.9)` },
  p95: { numeric: true, sql: (c) => `quantile_cont(${c}, 0.95)` },
  p99: { numeric: true, sql: (c) => `quantile_cont(${c}, 0.99)` },
};

function compile(step: AggregateStep, input: StepInput): CompiledStep {
  const keys = requireColumns(input.schema, step.groupBy ?? [], `${input.pointer}/groupBy`);
  // Lower-cased: DuckDB takes names that differ only in case for the same column.
  const outputs = new Set(keys.map((k) => k.name.toLowerCase()));
  const measures = step.aggregations.map((a, i) => {
    const at = `${input.pointer}/aggregations/${i}`;
    if (outputs.has(a.as.toLowerCase()))
      throw stepError(`${at}/as`, `the output column ${quoteForMessage(a.as)} already exists`);
    outputs.add(a.as.toLowerCase());
    const fn = SQL[a.function];
    if (a.column === undefined) {
      if (a.function !== 'count') throw stepError(`${at}/column`, `${a.function} needs a column`);
      return `count(*) AS ${ident(a.as)}`;
    }
    const column = requireColumn(input.schema, a.column, `${at}/column`);
    if (fn.numeric && !isNumeric(column.type))
      throw stepError(
        `${at}/column`,
        `column ${quoteForMessage(column.name)} is ${column.type}; ${a.function} needs a numeric column`,
      );
    return `${fn.sql(ident(column.name))} AS ${ident(a.as)}`;
  });
  const select = [...keys.map((k) => ident(k.name)), ...measures].join(', ');
  // Positions, not names: an output alias may repeat an input column's name, and GROUP BY would bind to either.
  const positions = keys.map((_, i) => String(i + 1)).join(', ');
  const grouping = keys.length > 0 ? ` GROUP BY ${positions} ORDER BY ${positions}` : '';
  return { sql: `SELECT ${select} FROM ${input.from}${grouping}`, params: [] };
}

export const aggregateStep: StepKind<AggregateStep> = {
  type: 'aggregate',
  summary: 'Group rows and compute counts, sums, means, percentiles… per group',
  schema: AggregateSchema,
  compile,
};
