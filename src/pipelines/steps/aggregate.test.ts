import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { aggregateStep, type AggregateStep } from './aggregate.js';
import { runStep } from './testing.js';

const DATA = `SELECT * FROM (VALUES
  ('b', 10, 'q'), ('a', 1, 'p'), (NULL, 5, 'r'), ('a', 3, NULL), ('b', NULL, 'q'), ('a', NULL, 'p')
) v(g, x, s)`;

type Aggregation = AggregateStep['aggregations'][number];
const run = (aggregations: Aggregation[], groupBy?: string[], sql = DATA) =>
  runStep(aggregateStep, { type: 'aggregate', groupBy, aggregations }, { sql });

describe('aggregate step', () => {
  it('counts, sums, means, extremes and first/last per group, ordered by the key with nulls last', async () => {
    const { rows, columns } = await run(
      [
        { function: 'count', as: 'rows' },
        { column: 'x', function: 'count', as: 'xs' },
        { column: 's', function: 'count_distinct', as: 'labels' },
        { column: 'x', function: 'sum', as: 'total' },
        { column: 'x', function: 'mean', as: 'mean' },
        { column: 'x', function: 'min', as: 'low' },
        { column: 's', function: 'max', as: 'top' },
        { column: 'x', function: 'median', as: 'median' },
        { column: 'x', function: 'stddev', as: 'sd' },
        { column: 'x', function: 'first', as: 'first' },
        { column: 'x', function: 'last', as: 'last' },
      ],
      ['g'],
    );
    expect(columns.map((c) => c.name)).toEqual([
      'g',
      'rows',
      'xs',
      'labels',
      'total',
      'mean',
      'low',
      'top',
      'median',
      'sd',
      'first',
      'last',
    ]);
    expect(rows).toEqual([
      {
        g: 'a',
        rows: 3,
        xs: 2,
        labels: 1,
        total: 4,
        mean: 2,
        low: 1,
        top: 'p',
        median: 2,
        sd: Math.SQRT2,
        first: 1,
        last: 3,
      },
      {
        g: 'b',
        rows: 2,
        xs: 1,
        labels: 1,
        total: 10,
        mean: 10,
        low: 10,
        top: 'q',
        median: 10,
        sd: null,
        first: 10,
        last: 10,
      },
      {
        g: null,
        rows: 1,
        xs: 1,
        labels: 1,
        total: 5,
        mean: 5,
        low: 5,
        top: 'r',
        median: 5,
        sd: null,
        first: 5,
        last: 5,
      },
    ]);
  });

  it('first and last follow the input order', async () => {
    const sql = 'SELECT * FROM (VALUES (1, NULL), (2, 20), (3, 30), (4, NULL)) v(i, x) ORDER BY i DESC';
    const { rows } = await run(
      [
        { column: 'x', function: 'first', as: 'f' },
        { column: 'x', function: 'last', as: 'l' },
      ],
      undefined,
      sql,
    );
    expect(rows).toEqual([{ f: 30, l: 20 }]);
  });

  it('exact percentiles (quantile_cont) over 1..101', async () => {
    const functions = ['p25', 'p75', 'p90', 'p95', 'p99'] as const;
    const { rows } = await run(
      functions.map((f) => ({ column: 'x', function: f, as: f })),
      undefined,
      'SELECT range AS x FROM range(1, 102)',
    );
    expect(rows).toEqual([{ p25: 26, p75: 76, p90: 91, p95: 96, p99: 100 }]);
  });

  it('several keys, and an output may reuse an input column name', async () => {
    const { rows } = await run([{ column: 'x', function: 'sum', as: 'x' }], ['g', 's']);
    expect(rows).toEqual([
      { g: 'a', s: 'p', x: 1 },
      { g: 'a', s: null, x: 3 },
      { g: 'b', s: 'q', x: 10 },
      { g: null, s: 'r', x: 5 },
    ]);
  });

  it('no groupBy on empty input: one row, count 0, the rest null', async () => {
    const { rows } = await run(
      [
        { function: 'count', as: 'n' },
        { column: 'x', function: 'sum', as: 'total' },
        { column: 'x', function: 'first', as: 'first' },
        { column: 'x', function: 'p90', as: 'p90' },
      ],
      undefined,
      `${DATA} WHERE false`,
    );
    expect(rows).toEqual([{ n: 0, total: null, first: null, p90: null }]);
  });

  it('groupBy on empty input: no rows', async () => {
    expect((await run([{ function: 'count', as: 'n' }], ['g'], `${DATA} WHERE false`)).rows).toEqual([]);
  });

  it('unknown columns: 400 at the field with a did-you-mean', async () => {
    await expect(run([{ function: 'count', as: 'n' }], ['gg'])).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [{ pointer: '/steps/0/groupBy/0', message: "no column named 'gg'; did you mean 'g'?" }],
    });
    await expect(
      run([
        { function: 'count', as: 'n' },
        { column: 'xx', function: 'sum', as: 't' },
      ]),
    ).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/aggregations/1/column', message: "no column named 'xx'; did you mean 'x'?" }],
    });
  });

  it('numeric functions refuse text columns; only count may omit the column', async () => {
    for (const fn of ['sum', 'mean', 'median', 'stddev', 'p25', 'p75', 'p90', 'p95', 'p99'] as const) {
      await expect(run([{ column: 's', function: fn, as: 'o' }])).rejects.toMatchObject({
        status: 400,
        errors: [
          { pointer: '/steps/0/aggregations/0/column', message: `column 's' is VARCHAR; ${fn} needs a numeric column` },
        ],
      });
    }
    await expect(run([{ function: 'max', as: 'o' }])).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/aggregations/0/column', message: 'max needs a column' }],
    });
  });

  it('output names must be unique and not repeat a group key', async () => {
    await expect(run([{ function: 'count', as: 'g' }], ['g'])).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/aggregations/0/as', message: "the output column 'g' already exists" }],
    });
    await expect(
      run([
        { function: 'count', as: 'n' },
        { column: 'x', function: 'sum', as: 'n' },
      ]),
    ).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/aggregations/1/as', message: "the output column 'n' already exists" }],
    });
    // DuckDB takes names differing only in case for one column.
    await expect(run([{ function: 'count', as: 'G' }], ['g'])).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/aggregations/0/as', message: "the output column 'G' already exists" }],
    });
  });

  it('an injection-shaped name is a literal name as input and as output', async () => {
    const evil = '"); DROP TABLE x; --';
    const sql = `SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (3, 'b')) v(n, """); DROP TABLE x; --")`;
    const { rows } = await run([{ column: 'n', function: 'sum', as: `${evil}2` }], [evil], sql);
    expect(rows).toEqual([
      { [evil]: 'a', [`${evil}2`]: 3 },
      { [evil]: 'b', [`${evil}2`]: 3 },
    ]);
    await expect(run([{ column: evil, function: 'sum', as: 'o' }])).rejects.toMatchObject({
      status: 400,
      errors: [{ pointer: '/steps/0/aggregations/0/column' }],
    });
  });

  it('schema: unknown functions, empty lists and extra fields are refused', () => {
    const ok = { type: 'aggregate', aggregations: [{ function: 'count', as: 'n' }] };
    expect(Value.Check(aggregateStep.schema, ok)).toBe(true);
    expect(Value.Check(aggregateStep.schema, { ...ok, aggregations: [] })).toBe(false);
    expect(Value.Check(aggregateStep.schema, { ...ok, aggregations: [{ function: 'mode', as: 'n' }] })).toBe(false);
    expect(Value.Check(aggregateStep.schema, { ...ok, aggregations: [{ function: 'count', as: '' }] })).toBe(false);
    expect(Value.Check(aggregateStep.schema, { ...ok, having: 'x' })).toBe(false);
  });
});
