import type { DuckDBValue } from '@duckdb/node-api';
import { toPlain, type Engine } from '../engine/duckdb.js';
import { ident, type ColumnSchema } from '../engine/sql.js';
import { errors, type FieldError } from '../errors.js';
import { compileExpression, type ExprParam, type ValueType } from '../pipelines/expr/index.js';
import { describeType } from '../pipelines/expr/types.js';
import { didYouMean, nearMatches } from '../pipelines/expr/suggest.js';

export const AGGREGATE_FUNCTIONS = [
  'count',
  'count_distinct',
  'sum',
  'mean',
  'min',
  'max',
  'median',
  'stddev',
  'p25',
  'p75',
  'p90',
  'p95',
  'p99',
] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

export interface AggregateQuery {
  filter?: string;
  groupBy?: { expression: string; as: string }[];
  aggregations: { function: AggregateFunction; expression?: string; as: string }[];
  orderBy?: { column: string; descending?: boolean }[];
  limit: number;
}

/**
 * How each function is written in DuckDB, and what it accepts: numbers only, or any value that can be ordered or
 * counted. `x` is the compiled expression.
 */
const FUNCTIONS: Record<AggregateFunction, { sql: (x: string) => string; numeric: boolean }> = {
  count: { sql: (x) => `count(${x})`, numeric: false },
  count_distinct: { sql: (x) => `count(DISTINCT ${x})`, numeric: false },
  sum: { sql: (x) => `sum(${x})`, numeric: true },
  mean: { sql: (x) => `avg(${x})`, numeric: true },
  min: { sql: (x) => `min(${x})`, numeric: false },
  max: { sql: (x) => `max(${x})`, numeric: false },
  median: { sql: (x) => `quantile_cont(${x}, 0.5)`, numeric: true },
  stddev: { sql: (x) => `stddev_samp(${x})`, numeric: true },
  p25: { sql: (x) => `quantile_cont(${x}, 0.25)`, numeric: true },
  p75: { sql: (x) => `quantile_cont(${x}, 0.75)`, numeric: true },
  p90: { sql: (x) => `quantile_cont(${x}, 0.9)`, numeric: true },
  p95: { sql: (x) => `quantile_cont(${x}, 0.95)`, numeric: true },
  p99: { sql: (x) => `quantile_cont(${x}, 0.99)`, numeric: true },
};

const NUMERIC_OK: readonly ValueType[] = ['number', 'null', 'any'];

/**
 * The SQL of an aggregate query over `source`. Every piece of user text reaches it through the expression compiler
 * (columns quoted, literals as `$n` parameters) or `ident()` (output names); functions come from the table above.
 * Asks for `limit + 1` rows, so the caller can tell the answer was cut.
 */
export function buildAggregateQuery(
  source: string,
  schema: readonly ColumnSchema[],
  q: AggregateQuery,
): { sql: string; params: DuckDBValue[] } {
  const params: ExprParam[] = [];
  const compile = (text: string, pointer: string, expect?: 'boolean') => {
    const compiled = compileExpression(text, schema, { expect, pointer, paramOffset: params.length });
    params.push(...compiled.params);
    return compiled;
  };

  const names = new Map<string, string>();
  const claim = (as: string, pointer: string) => {
    const earlier = names.get(as);
    if (earlier !== undefined) throw invalid(`output name '${as}' is used twice (also at ${earlier})`, pointer);
    names.set(as, pointer);
  };

  const where = q.filter === undefined ? '' : ` WHERE ${compile(q.filter, '/body/filter', 'boolean').sql}`;
  const groups = (q.groupBy ?? []).map((g, i) => {
    claim(g.as, `/body/groupBy/${i}/as`);
    return `${compile(g.expression, `/body/groupBy/${i}/expression`).sql} AS ${ident(g.as)}`;
  });
  const aggregates = q.aggregations.map((a, i) => {
    const pointer = `/body/aggregations/${i}`;
    claim(a.as, `${pointer}/as`);
    const fn = FUNCTIONS[a.function];
    if (a.expression === undefined) {
      if (a.function !== 'count') throw invalid(`${a.function} needs an expression`, `${pointer}/expression`);
      return `count(*) AS ${ident(a.as)}`;
    }
    const x = compile(a.expression, `${pointer}/expression`);
    if (fn.numeric && !NUMERIC_OK.includes(x.type))
      throw invalid(
        `${a.function} needs a number, but the expression is ${describeType(x.type)}`,
        `${pointer}/expression`,
      );
    return `${fn.sql(x.sql)} AS ${ident(a.as)}`;
  });

  const order = (q.orderBy ?? []).map((o, i) => {
    if (!names.has(o.column)) {
      const hint = didYouMean(nearMatches(o.column, names.keys()), (s) => `'${s}'`);
      throw invalid(
        `no output column named '${o.column}'${hint ? `; ${hint}` : ''} (order by the \`as\` name of a group or an aggregation)`,
        `/body/orderBy/${i}/column`,
      );
    }
    return `${ident(o.column)} ${o.descending ? 'DESC' : 'ASC'} NULLS LAST`;
  });
  // The groups break ties, so the same query always answers the same rows in the same order.
  const tieBreak = (q.groupBy ?? []).map((g) => `${ident(g.as)} ASC NULLS LAST`);
  const orderBy = [...order, ...tieBreak];
  const groupBy = groups.length > 0 ? ` GROUP BY ${groups.map((_, i) => i + 1).join(', ')}` : '';
  const inner = `SELECT ${[...groups, ...aggregates].join(', ')} FROM ${source}${where}${groupBy}`;
  // Ordered outside, so ORDER BY names the output columns and never a same-named column of the data.
  const sql = `SELECT * FROM (${inner}) AS answer${orderBy.length > 0 ? ` ORDER BY ${orderBy.join(', ')}` : ''} LIMIT ${q.limit + 1}`;
  return { sql, params };
}

function invalid(message: string, pointer: string) {
  const fieldErrors: FieldError[] = [{ pointer, message }];
  return errors.validation(`Invalid query: ${message}`, fieldErrors);
}

/** Runs the built query; `signal` interrupts it. Values as JSON-safe as the preview's (timestamps ISO, big integers exact). */
export async function runAggregateQuery(
  engine: Engine,
  sql: string,
  params: DuckDBValue[],
  signal: AbortSignal,
): Promise<{ columns: { name: string; type: string }[]; rows: unknown[][] }> {
  return engine.withConnection(async (connection) => {
    const reader = await connection.runAndReadAll(sql, params);
    const names = reader.columnNames();
    return {
      columns: reader.columnTypes().map((t, i) => ({ name: names[i]!, type: t.toString() })),
      rows: reader.getRowsJS().map((row) => row.map(toPlain)),
    };
  }, signal);
}
