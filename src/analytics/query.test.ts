import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { buildAggregateQuery, type AggregateQuery } from './query.js';

const SCHEMA = [
  { name: 'region', type: 'VARCHAR', nullable: true },
  { name: 'amount', type: 'DOUBLE', nullable: true },
  { name: 'day', type: 'DATE', nullable: true },
];
const build = (q: Partial<AggregateQuery>) =>
  buildAggregateQuery('src', SCHEMA, { aggregations: [{ function: 'count', as: 'n' }], limit: 10, ...q });

function failure(q: Partial<AggregateQuery>): { pointer: string; message: string } {
  try {
    build(q);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).status).toBe(400);
    return (e as AppError).errors[0]!;
  }
  throw new Error('expected the query to be refused');
}

describe('buildAggregateQuery', () => {
  it('numbers the parameters of filter, groups and aggregations in one sequence and asks for limit + 1 rows', () => {
    const { sql, params } = build({
      filter: "region = 'north'",
      groupBy: [{ expression: "concat(region, '!')", as: 'r' }],
      aggregations: [
        { function: 'sum', expression: 'amount * 2', as: 'twice' },
        { function: 'p90', expression: 'amount', as: 'p90' },
      ],
      orderBy: [{ column: 'twice', descending: true }],
    });
    expect(params).toEqual(['north', '!', 2]);
    expect(sql).toBe(
      'SELECT * FROM (SELECT concat("region", CAST($2 AS VARCHAR)) AS "r", sum(("amount" * CAST($3 AS BIGINT))) AS "twice", quantile_cont("amount", 0.9) AS "p90" ' +
        'FROM src WHERE ("region" = CAST($1 AS VARCHAR)) GROUP BY 1) AS answer ORDER BY "twice" DESC NULLS LAST, "r" ASC NULLS LAST LIMIT 11',
    );
  });

  it('counts rows without an expression and has no GROUP BY or ORDER BY without groups', () => {
    expect(build({}).sql).toBe('SELECT * FROM (SELECT count(*) AS "n" FROM src) AS answer LIMIT 11');
  });

  it('quotes output names, so SQL in them is only a name', () => {
    const { sql } = build({ aggregations: [{ function: 'count', as: 'x"; DROP TABLE t; --' }] });
    expect(sql).toBe('SELECT * FROM (SELECT count(*) AS "x""; DROP TABLE t; --" FROM src) AS answer LIMIT 11');
  });

  it('refuses what cannot be computed, pointing into the body', () => {
    expect(failure({ aggregations: [{ function: 'median', expression: 'day', as: 'm' }] })).toEqual({
      pointer: '/body/aggregations/0/expression',
      message: 'median needs a number, but the expression is a date',
    });
    expect(failure({ aggregations: [{ function: 'count_distinct', as: 'd' }] })).toEqual({
      pointer: '/body/aggregations/0/expression',
      message: 'count_distinct needs an expression',
    });
    expect(failure({ groupBy: [{ expression: 'region', as: 'n' }] })).toEqual({
      pointer: '/body/aggregations/0/as',
      message: "output name 'n' is used twice (also at /body/groupBy/0/as)",
    });
    expect(failure({ orderBy: [{ column: 'region' }] })).toEqual({
      pointer: '/body/orderBy/0/column',
      message: "no output column named 'region' (order by the `as` name of a group or an aggregation)",
    });
    expect(failure({ filter: 'amount' }).pointer).toBe('/body/filter');
    expect(failure({ groupBy: [{ expression: 'regio', as: 'r' }] }).message).toBe(
      "unknown column 'regio' at 0; did you mean 'region'?",
    );
  });

  it('lets min, max and count_distinct take any type', () => {
    const { sql } = build({
      aggregations: [
        { function: 'min', expression: 'day', as: 'first' },
        { function: 'count_distinct', expression: 'region', as: 'regions' },
      ],
    });
    expect(sql).toContain('min("day") AS "first", count(DISTINCT "region") AS "regions"');
  });
});
