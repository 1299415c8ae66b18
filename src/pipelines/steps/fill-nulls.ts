import { Type, type Static } from 'typebox';
import type { DuckDBValue } from '@duckdb/node-api';
import { ident, isNumeric, typeFamily, type ColumnSchema } from '../../engine/sql.js';
import { StringEnum } from '../../http/schema-types.js';
import { quoteForMessage } from '../expr/errors.js';
import { ColumnName, requireColumn, requireColumns, sqlTypeOf, stepError } from './common.js';
import { temporalLiteral } from '../expr/temporal.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Replaces nulls in the given columns; every column keeps its type and position.
 *
 * - `constant`: `value`, converted to each column's type (checked now: a value that does not fit is a 400).
 * - `forward` / `backward`: the last / next non-null value in `orderBy` order (within `partitionBy` groups).
 * - `linear`: interpolated between the previous and next non-null values by the `orderBy` value (a number, or the
 *   epoch microseconds / days of a timestamp / date, so unevenly spaced times interpolate by time). Nulls before the
 *   first or after the last known value stay null; an integer column's result is rounded (half away from zero).
 * - `mean` / `median`: of the column (within `partitionBy` groups); numeric columns only, rounded for integers.
 *
 * Rows whose `orderBy` value is null have no place in the order: they are left as they are and feed no other row.
 * Rows with equal `orderBy` values are in no particular order among themselves.
 */
export const FILL_METHODS = ['constant', 'forward', 'backward', 'linear', 'mean', 'median'] as const;
type FillMethod = (typeof FILL_METHODS)[number];
const ORDERED: readonly FillMethod[] = ['forward', 'backward', 'linear'];

const FillNullsSchema = Type.Object(
  {
    type: Type.Literal('fill_nulls'),
    columns: Type.Array(ColumnName, { minItems: 1, maxItems: 1000 }),
    method: StringEnum(FILL_METHODS),
    value: Type.Optional(
      Type.Union([Type.String({ maxLength: 10_000 }), Type.Number(), Type.Boolean()], {
        description: "The constant (method 'constant')",
      }),
    ),
    orderBy: Type.Optional(ColumnName),
    partitionBy: Type.Optional(Type.Array(ColumnName, { minItems: 1, maxItems: 100 })),
  },
  { additionalProperties: false },
);

export type FillNullsStep = Static<typeof FillNullsSchema>;

function checkFields(step: FillNullsStep, pointer: string): void {
  const method = quoteForMessage(step.method);
  if (step.method === 'constant' && step.value === undefined)
    throw stepError(`${pointer}/value`, "missing required field 'value' (for method 'constant')");
  if (step.method !== 'constant' && step.value !== undefined)
    throw stepError(`${pointer}/value`, `'value' is only used by method 'constant', not ${method}`);
  if (ORDERED.includes(step.method) && step.orderBy === undefined)
    throw stepError(`${pointer}/orderBy`, `missing required field 'orderBy' (for method ${method})`);
  if (!ORDERED.includes(step.method) && step.orderBy !== undefined)
    throw stepError(
      `${pointer}/orderBy`,
      `'orderBy' is only used by methods 'forward', 'backward' and 'linear', not ${method}`,
    );
  if (step.method === 'constant' && step.partitionBy !== undefined)
    throw stepError(`${pointer}/partitionBy`, "'partitionBy' is not used by method 'constant'");
}

const INTEGER_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  TINYINT: [-(2n ** 7n), 2n ** 7n - 1n],
  SMALLINT: [-(2n ** 15n), 2n ** 15n - 1n],
  INTEGER: [-(2n ** 31n), 2n ** 31n - 1n],
  BIGINT: [-(2n ** 63n), 2n ** 63n - 1n],
  HUGEINT: [-(2n ** 127n), 2n ** 127n - 1n],
  UTINYINT: [0n, 2n ** 8n - 1n],
  USMALLINT: [0n, 2n ** 16n - 1n],
  UINTEGER: [0n, 2n ** 32n - 1n],
  UBIGINT: [0n, 2n ** 64n - 1n],
  UHUGEINT: [0n, 2n ** 128n - 1n],
};
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The constant for `column` as a bound value and the SQL reading it as the column's type, or a 400 at `pointer`
 * when it does not fit (checked here so the run cannot fail on it). Values go as text where the JS number could
 * lose digits (integers, decimals); timestamps are read as TIMESTAMPTZ first so an offset is honoured for naive
 * columns too (which hold UTC).
 */
function constantFor(
  column: ColumnSchema,
  value: string | number | boolean,
  pointer: string,
): { value: DuckDBValue; sql: (index: number, type: string) => string } {
  const refuse = (why: string): never => {
    throw stepError(
      pointer,
      `${typeof value === 'string' ? quoteForMessage(value) : JSON.stringify(value)} ${why} (column ${quoteForMessage(column.name)} is ${column.type})`,
    );
  };
  const plain = (v: DuckDBValue) => ({ value: v, sql: (n: number, type: string) => `CAST($${n} AS ${type})` });
  switch (typeFamily(column.type)) {
    case 'integer': {
      const text =
        typeof value === 'number' && Number.isSafeInteger(value)
          ? String(value)
          : typeof value === 'string' && /^[+-]?\d{1,40}$/.test(value)
            ? value
            : refuse('is not a whole number');
      const [min, max] = INTEGER_RANGE[column.type.toUpperCase()] ?? INTEGER_RANGE.BIGINT!;
      if (BigInt(text) < min || BigInt(text) > max) refuse(`is out of range for ${column.type}`);
      return plain(text);
    }
    case 'float':
    case 'decimal': {
      const text =
        typeof value === 'number'
          ? String(value)
          : typeof value === 'string' && DECIMAL_TEXT.test(value)
            ? value
            : refuse('is not a number');
      const digits = /^DECIMAL\((\d+), ?(\d+)\)$/i.exec(column.type);
      if (digits && Math.abs(Number(text)) >= 10 ** (Number(digits[1]) - Number(digits[2])))
        refuse(`is out of range for ${column.type}`);
      if (!Number.isFinite(Number(text))) refuse('is out of range');
      return plain(text);
    }
    case 'boolean':
      if (typeof value === 'boolean') return plain(value);
      if (value === 'true' || value === 'false') return plain(value === 'true');
      return refuse('is not true or false');
    case 'text':
      return plain(String(value));
    case 'timestamp':
      if (typeof value !== 'string' || temporalLiteral(value) === undefined)
        refuse("is not an ISO 8601 timestamp such as '2024-01-31T12:00:00Z'");
      return { value, sql: (n, type) => `CAST(CAST($${n} AS TIMESTAMPTZ) AS ${type})` };
    case 'date':
      if (typeof value !== 'string' || temporalLiteral(value) !== 'date') refuse("is not a date such as '2024-01-31'");
      return plain(value);
    default:
      return refuse(
        'cannot fill this column: only number, text, true/false, timestamp and date columns take a constant',
      );
  }
}

/** The numeric position of a row for linear interpolation. */
function position(order: ColumnSchema, pointer: string): string {
  const o = ident(order.name);
  switch (typeFamily(order.type)) {
    case 'integer':
    case 'float':
    case 'decimal':
      return `CAST(${o} AS DOUBLE)`;
    case 'timestamp':
      return `CAST(epoch_us(${o}) AS DOUBLE)`;
    case 'date':
      return `CAST(date_diff('day', DATE '1970-01-01', ${o}) AS DOUBLE)`;
    default:
      throw stepError(
        pointer,
        `column ${quoteForMessage(order.name)} is ${order.type}: linear interpolation needs a number, timestamp or date column to order by`,
      );
  }
}

/** `value` (a DOUBLE expression) back in the column's type; integers are rounded rather than cast half-to-even. */
function asColumnType(value: string, column: ColumnSchema, pointer: string): string {
  const type = sqlTypeOf(column, pointer);
  return typeFamily(column.type) === 'integer' ? `CAST(round(${value}) AS ${type})` : `CAST(${value} AS ${type})`;
}

function compile(step: FillNullsStep, input: StepInput): CompiledStep {
  const { pointer } = input;
  checkFields(step, pointer);
  const columns = requireColumns(input.schema, step.columns, `${pointer}/columns`);
  const order =
    step.orderBy === undefined ? undefined : requireColumn(input.schema, step.orderBy, `${pointer}/orderBy`);
  const partition = (
    step.partitionBy === undefined ? [] : requireColumns(input.schema, step.partitionBy, `${pointer}/partitionBy`)
  ).map((c) => ident(c.name));
  if (step.method === 'mean' || step.method === 'median' || step.method === 'linear') {
    columns.forEach((c, i) => {
      if (!isNumeric(c.type))
        throw stepError(
          `${pointer}/columns/${i}`,
          `column ${quoteForMessage(c.name)} is ${c.type}: method ${quoteForMessage(step.method)} needs a numeric column`,
        );
    });
  }

  const params: DuckDBValue[] = [];
  const o = order === undefined ? '' : ident(order.name);
  // Rows without an order value get a partition of their own, so they never feed the ordered rows.
  const over = (frame: string) =>
    `OVER (PARTITION BY ${[...partition, `(${o} IS NULL)`].join(', ')} ORDER BY ${o} ASC ${frame})`;
  const before = over('ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW');
  const after = over('ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING');
  const group = `OVER (${partition.length > 0 ? `PARTITION BY ${partition.join(', ')}` : ''})`;

  const fill = (column: ColumnSchema, i: number): string => {
    const c = ident(column.name);
    const at = `${pointer}/columns/${i}`;
    switch (step.method) {
      case 'constant': {
        const constant = constantFor(column, step.value as string | number | boolean, `${pointer}/value`);
        params.push(constant.value);
        return `COALESCE(${c}, ${constant.sql(input.paramOffset + params.length, sqlTypeOf(column, at))})`;
      }
      case 'forward':
        return `CASE WHEN ${o} IS NULL THEN ${c} ELSE COALESCE(${c}, last_value(${c} IGNORE NULLS) ${before}) END`;
      case 'backward':
        return `CASE WHEN ${o} IS NULL THEN ${c} ELSE COALESCE(${c}, first_value(${c} IGNORE NULLS) ${after}) END`;
      case 'linear': {
        const p = position(order as ColumnSchema, `${pointer}/orderBy`);
        const v = `CAST(${c} AS DOUBLE)`;
        const known = `CASE WHEN ${c} IS NOT NULL THEN ${p} END`;
        const [v0, p0] = [`last_value(${v} IGNORE NULLS) ${before}`, `last_value(${known} IGNORE NULLS) ${before}`];
        const [v1, p1] = [`first_value(${v} IGNORE NULLS) ${after}`, `first_value(${known} IGNORE NULLS) ${after}`];
        // Equal positions (ties) take the earlier value rather than dividing by zero.
        const interpolated = `CASE WHEN ${p1} = ${p0} THEN ${v0} ELSE ${v0} + (${v1} - ${v0}) * (${p} - ${p0}) / (${p1} - ${p0}) END`;
        return `COALESCE(${c}, ${asColumnType(interpolated, column, at)})`;
      }
      case 'mean':
        return `COALESCE(${c}, ${asColumnType(`avg(CAST(${c} AS DOUBLE)) ${group}`, column, at)})`;
      case 'median':
        return `COALESCE(${c}, ${asColumnType(`median(CAST(${c} AS DOUBLE)) ${group}`, column, at)})`;
    }
  };

  const filled = new Map(columns.map((c, i) => [c.name, fill(c, i)]));
  const select = input.schema.map((c) => {
    const sql = filled.get(c.name);
    return sql === undefined ? ident(c.name) : `${sql} AS ${ident(c.name)}`;
  });
  return { sql: `SELECT ${select.join(', ')} FROM ${input.from}`, params };
}

export const fillNullsStep: StepKind<FillNullsStep> = {
  type: 'fill_nulls',
  summary: 'Replace missing values: a constant, the previous or next value, interpolation, the mean or the median',
  schema: FillNullsSchema,
  compile,
};
