import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { windowStep, type WindowStep } from './window.js';
import { runStep } from './testing.js';

// Inserted out of order: the step orders by (g, t) itself.
const DATA = `SELECT * FROM (VALUES
  ('b', 2, 15, 'q'), ('a', 4, 40, 'd'), ('a', 1, 10, 'a'), ('a', 6, 50, 'f'), ('a', 3, NULL, 'c'), ('b', 1, 5, 'p'), ('a', 5, 0, 'e'), ('a', 2, 20, 'b')
) v(g, t, x, label)`;

type Call = WindowStep['functions'][number];
const run = (functions: Call[], fields: Partial<WindowStep> = {}, sql = DATA) =>
  runStep(windowStep, { type: 'window', orderBy: 't', partitionBy: ['g'], functions, ...fields }, { sql });
const column = (rows: Record<string, unknown>[], name: string) => rows.map((r) => r[name]);

describe('window step', () => {
  it('rolling functions over partitions, in window order, input columns kept', async () => {
    const { rows, columns } = await run([
      { function: 'rolling_mean', column: 'x', as: 'mean3' },
      { function: 'rolling_sum', column: 'x', size: 2, as: 'sum2' },
      { function: 'rolling_min', column: 'x', size: 2, as: 'min2' },
      { function: 'rolling_max', column: 'x', size: 3, as: 'max3' },
    ]);
    expect(columns.map((c) => c.name)).toEqual(['g', 't', 'x', 'label', 'mean3', 'sum2', 'min2', 'max3']);
    expect(rows.map((r) => [r.g, r.t, r.label])).toEqual([
      ['a', 1, 'a'],
      ['a', 2, 'b'],
      ['a', 3, 'c'],
      ['a', 4, 'd'],
      ['a', 5, 'e'],
      ['a', 6, 'f'],
      ['b', 1, 'p'],
      ['b', 2, 'q'],
    ]);
    expect(column(rows, 'mean3')).toEqual([10, 15, 15, 30, 20, 30, 5, 10]);
    expect(column(rows, 'sum2')).toEqual([10, 30, 20, 40, 40, 50, 5, 20]);
    expect(column(rows, 'min2')).toEqual([10, 10, 20, 40, 0, 0, 5, 5]);
    expect(column(rows, 'max3')).toEqual([10, 20, 20, 40, 40, 50, 5, 15]);
  });

  it('lag, lead, diff and pct_change (null after a 0)', async () => {
    const { rows } = await run([
      { function: 'lag', column: 'x', as: 'prev' },
      { function: 'lead', column: 'x', offset: 2, as: 'next2' },
      { function: 'diff', column: 'x', as: 'diff' },
      { function: 'pct_change', column: 'x', as: 'pct' },
      { function: 'lag', column: 'label', as: 'prev_label' },
    ]);
    expect(column(rows, 'prev')).toEqual([null, 10, 20, null, 40, 0, null, 5]);
    expect(column(rows, 'next2')).toEqual([null, 40, 0, 50, null, null, null, null]);
    expect(column(rows, 'diff')).toEqual([null, 10, null, null, -40, 50, null, 10]);
    expect(column(rows, 'pct')).toEqual([null, 1, null, null, -1, null, null, 2]);
    expect(column(rows, 'prev_label')).toEqual([null, 'a', 'b', 'c', 'd', 'e', null, 'p']);
  });

  it('without partitions: one window over all rows ordered by orderBy', async () => {
    const sql = 'SELECT * FROM (VALUES (3, 30), (1, 10), (2, 15)) v(t, x)';
    const { rows } = await run(
      [{ function: 'diff', column: 'x', offset: 2, as: 'd2' }],
      { partitionBy: undefined },
      sql,
    );
    expect(rows).toEqual([
      { t: 1, x: 10, d2: null },
      { t: 2, x: 15, d2: null },
      { t: 3, x: 30, d2: 20 },
    ]);
  });

  it('diff of an unsigned column may be negative', async () => {
    const { rows } = await run(
      [{ function: 'diff', column: 'x', as: 'd' }],
      { partitionBy: [] },
      'SELECT * FROM (VALUES (1, 5::UTINYINT), (2, 3::UTINYINT)) v(t, x)',
    );
    expect(column(rows, 'd')).toEqual([null, -2]);
  });

  it('empty input: no rows, the appended columns still described', async () => {
    const { rows, columns } = await run(
      [{ function: 'rolling_mean', column: 'x', as: 'm' }],
      {},
      `${DATA} WHERE false`,
    );
    expect(rows).toEqual([]);
    expect(columns.map((c) => c.name)).toEqual(['g', 't', 'x', 'label', 'm']);
  });

  it('sizes and offsets are bound parameters numbered after earlier steps’ parameters', async () => {
    const input = {
      from: '"s1"',
      schema: [
        { name: 't', type: 'INTEGER', nullable: true },
        { name: 'x', type: 'DOUBLE', nullable: true },
      ],
      pointer: '/steps/1',
      paramOffset: 3,
      resolveDataset: () => Promise.reject(new Error('unused')),
    };
    const compiled = await windowStep.compile(
      {
        type: 'window',
        orderBy: 't',
        functions: [
          { function: 'rolling_sum', column: 'x', size: 7, as: 's' },
          { function: 'lead', column: 'x', offset: 5, as: 'l' },
        ],
      },
      input,
    );
    expect(compiled.params).toEqual([6, 5]);
    expect(compiled.sql.match(/\$\d+/g)).toEqual(['$4', '$5']);
  });

  it('unknown columns: 400 at the field with a did-you-mean', async () => {
    await expect(run([{ function: 'lag', column: 'x', as: 'p' }], { orderBy: 'tt' })).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [{ pointer: '/steps/0/orderBy', message: "no column named 'tt'; did you mean 't'?" }],
    });
    await expect(run([{ function: 'lag', column: 'x', as: 'p' }], { partitionBy: ['gg'] })).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/partitionBy/0', message: "no column named 'gg'; did you mean 'g'?" }],
    });
    await expect(
      run([
        { function: 'lag', column: 'x', as: 'p' },
        { function: 'lag', column: 'lable', as: 'q' },
      ]),
    ).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/functions/1/column', message: "no column named 'lable'; did you mean 'label'?" }],
    });
  });

  it('numeric functions refuse text; lag and lead take any type', async () => {
    for (const fn of ['rolling_mean', 'rolling_sum', 'rolling_min', 'rolling_max', 'diff', 'pct_change'] as const) {
      await expect(run([{ function: fn, column: 'label', as: 'o' }])).rejects.toMatchObject({
        errors: [
          {
            pointer: '/steps/0/functions/0/column',
            message: `column 'label' is VARCHAR; ${fn} needs a numeric column`,
          },
        ],
      });
    }
  });

  it('output names must be new and unique', async () => {
    await expect(run([{ function: 'lag', column: 'x', as: 'label' }])).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/functions/0/as', message: "a column named 'label' already exists" }],
    });
    await expect(
      run([
        { function: 'lag', column: 'x', as: 'p' },
        { function: 'lead', column: 'x', as: 'p' },
      ]),
    ).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/functions/1/as', message: "a column named 'p' already exists" }],
    });
  });

  it('size only for rolling functions, offset only for the others', async () => {
    await expect(run([{ function: 'lag', column: 'x', size: 2, as: 'p' }])).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/functions/0/size', message: 'size applies to rolling functions only; use offset' }],
    });
    await expect(run([{ function: 'rolling_sum', column: 'x', offset: 2, as: 'p' }])).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/functions/0/offset', message: 'offset does not apply to rolling_sum; use size' }],
    });
  });

  it('an injection-shaped name is a literal column and output name', async () => {
    const evil = '"); DROP TABLE x; --';
    const sql = `SELECT * FROM (VALUES (2, 20), (1, 10)) v(t, """); DROP TABLE x; --")`;
    const { rows } = await run([{ function: 'lag', column: evil, as: `${evil}_prev` }], { partitionBy: [] }, sql);
    expect(rows).toEqual([
      { t: 1, [evil]: 10, [`${evil}_prev`]: null },
      { t: 2, [evil]: 20, [`${evil}_prev`]: 10 },
    ]);
    await expect(run([{ function: 'lag', column: evil, as: 'p' }])).rejects.toMatchObject({
      status: 400,
      errors: [{ pointer: '/steps/0/functions/0/column' }],
    });
  });

  it('schema: bad sizes, unknown functions and extra fields are refused', () => {
    const ok = { type: 'window', orderBy: 't', functions: [{ function: 'lag', column: 'x', as: 'p' }] };
    expect(Value.Check(windowStep.schema, ok)).toBe(true);
    expect(
      Value.Check(windowStep.schema, {
        ...ok,
        functions: [{ function: 'rolling_sum', column: 'x', size: 0, as: 'p' }],
      }),
    ).toBe(false);
    expect(
      Value.Check(windowStep.schema, {
        ...ok,
        functions: [{ function: 'rolling_sum', column: 'x', size: 2.5, as: 'p' }],
      }),
    ).toBe(false);
    expect(Value.Check(windowStep.schema, { ...ok, functions: [{ function: 'rank', column: 'x', as: 'p' }] })).toBe(
      false,
    );
    expect(Value.Check(windowStep.schema, { ...ok, functions: [] })).toBe(false);
    expect(Value.Check(windowStep.schema, { ...ok, frame: 'x' })).toBe(false);
  });
});
