import { Type, type Static } from 'typebox';
import { ident, isNumeric, typeFamily, type ColumnSchema } from '../../engine/sql.js';
import { quoteForMessage } from '../expr/errors.js';
import { ColumnName, requireColumns, sqlTypeOf, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Outliers of numeric columns, found with statistics over the whole input, then clipped to the bounds or dropped.
 *
 * - `iqr`: outside [Q1 − k·IQR, Q3 + k·IQR], exact quartiles (`quantile_cont`), k default 1.5.
 * - `zscore`: |x − mean| / stddev_samp > k, k default 3; the bounds are mean ± k·stddev.
 * A zero IQR or stddev (or too few values to have one) means the column has no outliers; nulls are never outliers.
 * `clip` keeps each column's type: an integer column's lower bound is rounded up and its upper bound down, so a
 * clipped value stays inside the bounds; a decimal bound is rounded to the column's scale.
 */

const OutliersSchema = Type.Object(
  {
    type: Type.Literal('outliers'),
    columns: Type.Array(ColumnName, { minItems: 1 }),
    method: Type.Union([Type.Literal('iqr'), Type.Literal('zscore')]),
    threshold: Type.Optional(
      Type.Number({ minimum: 0, description: 'k: IQR multiplier (default 1.5) or z-score limit (default 3)' }),
    ),
    action: Type.Union([Type.Literal('clip'), Type.Literal('drop')]),
  },
  { additionalProperties: false },
);

export type OutliersStep = Static<typeof OutliersSchema>;

const DEFAULT_THRESHOLD = { iqr: 1.5, zscore: 3 } as const;

/** The bounds CTE: one row with `lo<i>`/`hi<i>` per column, null where the column has no outliers. */
function boundsSql(method: OutliersStep['method'], columns: ColumnSchema[], from: string, k: string): string {
  const value = (c: ColumnSchema) => `CAST(${ident(c.name)} AS DOUBLE)`;
  if (method === 'iqr') {
    const stats = columns.map((c, i) => `quantile_cont(${value(c)}, [0.25, 0.75]) AS q${i}`).join(', ');
    const bounds = columns.map((_, i) => {
      const [q1, q3] = [`q${i}[1]`, `q${i}[2]`];
      return `CASE WHEN ${q3} > ${q1} THEN ${q1} - ${k} * (${q3} - ${q1}) END AS lo${i}, CASE WHEN ${q3} > ${q1} THEN ${q3} + ${k} * (${q3} - ${q1}) END AS hi${i}`;
    });
    return `SELECT ${bounds.join(', ')} FROM (SELECT ${stats} FROM ${from})`;
  }
  const stats = columns.map((c, i) => `avg(${value(c)}) AS m${i}, stddev_samp(${value(c)}) AS sd${i}`).join(', ');
  const bounds = columns.map(
    (_, i) =>
      `CASE WHEN sd${i} > 0 THEN m${i} - ${k} * sd${i} END AS lo${i}, CASE WHEN sd${i} > 0 THEN m${i} + ${k} * sd${i} END AS hi${i}`,
  );
  return `SELECT ${bounds.join(', ')} FROM (SELECT ${stats} FROM ${from})`;
}

function clipped(column: ColumnSchema, i: number, type: string): string {
  const c = `weir_in.${ident(column.name)}`;
  const integer = typeFamily(column.type) === 'integer';
  const lo = integer ? `ceil(weir_bounds.lo${i})` : `weir_bounds.lo${i}`;
  const hi = integer ? `floor(weir_bounds.hi${i})` : `weir_bounds.hi${i}`;
  return `CASE WHEN ${c} < weir_bounds.lo${i} THEN CAST(${lo} AS ${type}) WHEN ${c} > weir_bounds.hi${i} THEN CAST(${hi} AS ${type}) ELSE ${c} END`;
}

function compile(step: OutliersStep, input: StepInput): CompiledStep {
  const columns = requireColumns(input.schema, step.columns, `${input.pointer}/columns`);
  columns.forEach((c, i) => {
    if (!isNumeric(c.type))
      throw stepError(
        `${input.pointer}/columns/${i}`,
        `column ${quoteForMessage(c.name)} is ${c.type}; outliers needs a numeric column`,
      );
  });
  const k = `CAST($${input.paramOffset + 1} AS DOUBLE)`;
  const bounds = `WITH weir_bounds AS (${boundsSql(step.method, columns, input.from, k)})`;
  const params = [step.threshold ?? DEFAULT_THRESHOLD[step.method]];
  if (step.action === 'drop') {
    const outlier = columns.map(
      (c, i) =>
        `coalesce(weir_in.${ident(c.name)} < weir_bounds.lo${i} OR weir_in.${ident(c.name)} > weir_bounds.hi${i}, false)`,
    );
    return {
      sql: `${bounds} SELECT weir_in.* FROM ${input.from} AS weir_in CROSS JOIN weir_bounds WHERE NOT (${outlier.join(' OR ')})`,
      params,
    };
  }
  const projection = input.schema.map((c) => {
    const i = columns.indexOf(c);
    return i === -1
      ? `weir_in.${ident(c.name)}`
      : `${clipped(c, i, sqlTypeOf(c, `${input.pointer}/columns/${i}`))} AS ${ident(c.name)}`;
  });
  return {
    sql: `${bounds} SELECT ${projection.join(', ')} FROM ${input.from} AS weir_in CROSS JOIN weir_bounds`,
    params,
  };
}

export const outliersStep: StepKind<OutliersStep> = {
  type: 'outliers',
  summary: 'Clip or drop outliers of numeric columns (IQR or z-score over the whole input)',
  schema: OutliersSchema,
  compile,
};
