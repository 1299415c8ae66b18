import { Type, type Static } from 'typebox';
import { ident, isNumeric, typeFamily, type ColumnSchema } from '../../engine/sql.js';
import { quoteForMessage } from '../expr/errors.js';
import { ColumnName, requireColumn, requireColumns, requireNewName, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Window functions over rows ordered by one column (within partitions): every input column is kept, one column is
 * appended per function, and rows come out in window order (partition keys, then `orderBy`, nulls last). Rows that
 * tie on the order have no defined order among themselves.
 *
 * - rolling_*: over the `size` rows ending at the current one (default 3); the first rows of a partition use the
 *   rows there are, and nulls are skipped.
 * - lag/lead: the value `offset` rows before/after (default 1); diff: x − lag; pct_change: (x − lag) / lag, null when
 *   the earlier value is 0.
 */

const MAX_ROWS = 1_000_000;

const WindowSchema = Type.Object(
  {
    type: Type.Literal('window'),
    orderBy: ColumnName,
    partitionBy: Type.Optional(Type.Array(ColumnName)),
    functions: Type.Array(
      Type.Object(
        {
          function: Type.Union([
            Type.Literal('rolling_mean'),
            Type.Literal('rolling_sum'),
            Type.Literal('rolling_min'),
            Type.Literal('rolling_max'),
            Type.Literal('lag'),
            Type.Literal('lead'),
            Type.Literal('diff'),
            Type.Literal('pct_change'),
          ]),
          column: ColumnName,
          size: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: MAX_ROWS,
              description: 'rolling_*: rows in the window, ending at the current one (default 3)',
            }),
          ),
          offset: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: MAX_ROWS,
              description: 'lag, lead, diff, pct_change: rows back or ahead (default 1)',
            }),
          ),
          as: Type.String({ ...ColumnName, description: 'Name of the appended column' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export type WindowStep = Static<typeof WindowSchema>;
type WindowCall = WindowStep['functions'][number];
type WindowFunction = WindowCall['function'];

const ROLLING: Partial<Record<WindowFunction, string>> = {
  rolling_mean: 'avg',
  rolling_sum: 'sum',
  rolling_min: 'min',
  rolling_max: 'max',
};
const DEFAULT_SIZE = 3;
const DEFAULT_OFFSET = 1;

/** The SQL of one call; `param(v)` binds a value and answers its placeholder. */
function callSql(call: WindowCall, column: ColumnSchema, over: string, param: (value: number) => string): string {
  const c = ident(column.name);
  const rolling = ROLLING[call.function];
  if (rolling)
    return `${rolling}(${c}) OVER (${over} ROWS BETWEEN ${param((call.size ?? DEFAULT_SIZE) - 1)} PRECEDING AND CURRENT ROW)`;
  const offset = param(call.offset ?? DEFAULT_OFFSET);
  if (call.function === 'lag' || call.function === 'lead') return `${call.function}(${c}, ${offset}) OVER (${over})`;
  if (call.function === 'diff') {
    // Unsigned columns would fail on a negative difference: subtract as HUGEINT.
    const value =
      typeFamily(column.type) === 'integer' && column.type.toUpperCase().startsWith('U') ? `CAST(${c} AS HUGEINT)` : c;
    return `${value} - lag(${value}, ${offset}) OVER (${over})`;
  }
  const previous = `CAST(lag(${c}, ${offset}) OVER (${over}) AS DOUBLE)`;
  return `(CAST(${c} AS DOUBLE) - ${previous}) / NULLIF(${previous}, 0)`;
}

function compile(step: WindowStep, input: StepInput): CompiledStep {
  const order = requireColumn(input.schema, step.orderBy, `${input.pointer}/orderBy`);
  const partition = requireColumns(input.schema, step.partitionBy ?? [], `${input.pointer}/partitionBy`);
  const keys = [...partition, order].map((c) => ident(c.name)).join(', ');
  const over = `${partition.length > 0 ? `PARTITION BY ${partition.map((c) => ident(c.name)).join(', ')} ` : ''}ORDER BY ${ident(order.name)}`;
  const params: number[] = [];
  const param = (value: number): string => {
    params.push(value);
    return `$${input.paramOffset + params.length}`;
  };
  const added: ColumnSchema[] = [];
  const calls = step.functions.map((call, i) => {
    const at = `${input.pointer}/functions/${i}`;
    const column = requireColumn(input.schema, call.column, `${at}/column`);
    const rolling = call.function in ROLLING;
    if (call.function !== 'lag' && call.function !== 'lead' && !isNumeric(column.type)) {
      throw stepError(
        `${at}/column`,
        `column ${quoteForMessage(column.name)} is ${column.type}; ${call.function} needs a numeric column`,
      );
    }
    if (rolling && call.offset !== undefined)
      throw stepError(`${at}/offset`, `offset does not apply to ${call.function}; use size`);
    if (!rolling && call.size !== undefined)
      throw stepError(`${at}/size`, `size applies to rolling functions only; use offset`);
    requireNewName([...input.schema, ...added], call.as, `${at}/as`);
    added.push({ name: call.as, type: '', nullable: true });
    return `${callSql(call, column, over, param)} AS ${ident(call.as)}`;
  });
  return { sql: `SELECT *, ${calls.join(', ')} FROM ${input.from} ORDER BY ${keys}`, params };
}

export const windowStep: StepKind<WindowStep> = {
  type: 'window',
  summary: 'Append rolling means/sums/extremes, lag/lead, differences and percent changes over ordered rows',
  schema: WindowSchema,
  compile,
};
