import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { outliersStep, type OutliersStep } from './outliers.js';
import { runStep } from './testing.js';

// Sorted non-null x: -20 2 3 4 5 6 7 8 9 100 → Q1 3.25, Q3 7.75, IQR 4.5, bounds [-3.5, 14.5] at k = 1.5.
const DATA = `SELECT * FROM (VALUES
  (1, -20, -20.0::DOUBLE, 'a'), (2, 2, 2.0, 'b'), (3, 3, 3.0, 'c'), (4, 4, 4.0, 'd'), (5, 5, 5.0, 'e'), (6, 6, 6.0, 'f'),
  (7, 7, 7.0, 'g'), (8, 8, 8.0, 'h'), (9, 9, 9.0, 'i'), (10, 100, 100.0, 'j'), (11, NULL, NULL, 'k')
) v(id, x, y, label)`;

const step = (fields: Partial<OutliersStep>): OutliersStep => ({
  type: 'outliers',
  columns: ['x'],
  method: 'iqr',
  action: 'clip',
  ...fields,
});
const run = (fields: Partial<OutliersStep>, sql = DATA) =>
  runStep(outliersStep, step(fields), { sql }, { orderBy: 'id' });

describe('outliers step', () => {
  it('iqr clip: integer bounds rounded inwards, double bounds exact, type and other columns kept, null untouched', async () => {
    const { rows, columns } = await run({ columns: ['x', 'y'] });
    expect(columns.map((c) => `${c.name}:${c.type}`)).toEqual(['id:INTEGER', 'x:INTEGER', 'y:DOUBLE', 'label:VARCHAR']);
    expect(rows.map((r) => [r.id, r.x, r.y, r.label])).toEqual([
      [1, -3, -3.5, 'a'],
      [2, 2, 2, 'b'],
      [3, 3, 3, 'c'],
      [4, 4, 4, 'd'],
      [5, 5, 5, 'e'],
      [6, 6, 6, 'f'],
      [7, 7, 7, 'g'],
      [8, 8, 8, 'h'],
      [9, 9, 9, 'i'],
      [10, 14, 14.5, 'j'],
      [11, null, null, 'k'],
    ]);
  });

  it('iqr drop: removes rows with an outlier in any listed column, keeps null rows', async () => {
    const { rows } = await run({ columns: ['x'], action: 'drop' });
    expect(rows.map((r) => r.id)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 11]);
  });

  it('iqr threshold widens the bounds: k = 6 → [-23.75, 34.75] keeps -20', async () => {
    const { rows } = await run({ action: 'drop', threshold: 6 });
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
  });

  it('zscore: |x − mean| / stddev_samp > threshold; default 3 finds none here, 2 finds the 10', async () => {
    // mean 1, stddev_samp sqrt(10): z(10) = 9 / 3.162… = 2.85, z(0) = 0.32.
    const sql =
      'SELECT * FROM (VALUES (1, 0, 0.0::DOUBLE), (2, 0, 0), (3, 0, 0), (4, 0, 0), (5, 0, 0), (6, 0, 0), (7, 0, 0), (8, 0, 0), (9, 0, 0), (10, 10, 10)) v(id, x, y)';
    expect((await run({ method: 'zscore', action: 'drop' }, sql)).rows).toHaveLength(10);
    expect((await run({ method: 'zscore', action: 'drop', threshold: 2 }, sql)).rows.map((r) => r.id)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    const clipped = await run({ method: 'zscore', action: 'clip', threshold: 2, columns: ['x', 'y'] }, sql);
    expect(clipped.rows[9]!.x).toBe(7);
    expect(clipped.rows[9]!.y).toBeCloseTo(1 + 2 * Math.sqrt(10), 12);
    expect(clipped.rows.slice(0, 9).map((r) => [r.x, r.y])).toEqual(new Array(9).fill([0, 0]));
  });

  it('a zero IQR or zero stddev means no outliers', async () => {
    const sql = 'SELECT * FROM (VALUES (1, 5), (2, 5), (3, 5), (4, 5), (5, 100)) v(id, x)';
    expect((await run({ action: 'drop' }, sql)).rows.map((r) => r.x)).toEqual([5, 5, 5, 5, 100]);
    const constant = 'SELECT * FROM (VALUES (1, 5), (2, 5)) v(id, x)';
    expect((await run({ method: 'zscore', threshold: 0, action: 'drop' }, constant)).rows.map((r) => r.x)).toEqual([
      5, 5,
    ]);
  });

  it('decimal columns keep their type, bounds rounded to the scale', async () => {
    const sql =
      'SELECT id, x::DECIMAL(6,2) AS x FROM (VALUES (1, -20), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9), (10, 100)) v(id, x)';
    const { rows, columns } = await run({}, sql);
    expect(columns[1]).toEqual({ name: 'x', type: 'DECIMAL(6,2)', nullable: true });
    expect(rows.map((r) => r.x)).toEqual([-3.5, 2, 3, 4, 5, 6, 7, 8, 9, 14.5]);
  });

  it('empty input and all-null columns give no outliers', async () => {
    expect((await run({}, 'SELECT 1 AS id, 2 AS x WHERE false')).rows).toEqual([]);
    expect(
      (await run({ action: 'drop' }, 'SELECT * FROM (VALUES (1, NULL::INTEGER), (2, NULL)) v(id, x)')).rows,
    ).toEqual([
      { id: 1, x: null },
      { id: 2, x: null },
    ]);
  });

  it('binds the threshold as a parameter numbered after earlier steps’ parameters', async () => {
    const input = {
      from: '"s1"',
      schema: [{ name: 'x', type: 'INTEGER', nullable: true }],
      pointer: '/steps/1',
      paramOffset: 2,
      resolveDataset: () => Promise.reject(new Error('unused')),
    };
    const compiled = await outliersStep.compile(step({ threshold: 2.5 }), input);
    expect(compiled.params).toEqual([2.5]);
    expect(compiled.sql.match(/\$\d+/g)).toEqual(['$3', '$3']);
    expect(compiled.sql).not.toContain('2.5');
  });

  it('unknown column: 400 at the column with a did-you-mean', async () => {
    await expect(run({ columns: ['x', 'yy'] })).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [{ pointer: '/steps/0/columns/1', message: "no column named 'yy'; did you mean 'y'?" }],
    });
  });

  it('text column: 400 at the column', async () => {
    await expect(run({ columns: ['x', 'label'] })).rejects.toMatchObject({
      status: 400,
      errors: [
        { pointer: '/steps/0/columns/1', message: "column 'label' is VARCHAR; outliers needs a numeric column" },
      ],
    });
  });

  it('a column listed twice: 400', async () => {
    await expect(run({ columns: ['x', 'x'] })).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/columns/1', message: "column 'x' is listed twice" }],
    });
  });

  it('an injection-shaped column name is a literal name, or a clean 400 when absent', async () => {
    const evil = '"); DROP TABLE x; --';
    const sql = `SELECT * FROM (VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 1000)) v(id, """); DROP TABLE x; --")`;
    expect((await run({ columns: [evil], action: 'drop' }, sql)).rows).toEqual(
      [1, 2, 3, 4].map((id) => ({ id, [evil]: id })),
    );
    await expect(run({ columns: [evil] })).rejects.toMatchObject({
      status: 400,
      errors: [{ pointer: '/steps/0/columns/0' }],
    });
  });

  it('schema: enums, a negative threshold and extra fields are refused', () => {
    expect(Value.Check(outliersStep.schema, step({}))).toBe(true);
    expect(Value.Check(outliersStep.schema, { ...step({}), method: 'mad' })).toBe(false);
    expect(Value.Check(outliersStep.schema, { ...step({}), action: 'winsorize' })).toBe(false);
    expect(Value.Check(outliersStep.schema, { ...step({}), threshold: -1 })).toBe(false);
    expect(Value.Check(outliersStep.schema, { ...step({}), columns: [] })).toBe(false);
    expect(Value.Check(outliersStep.schema, { ...step({}), extra: 1 })).toBe(false);
  });
});
