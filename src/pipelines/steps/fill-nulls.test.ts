import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { fillNullsStep, type FillNullsStep } from './fill-nulls.js';
import { runStep } from './testing.js';

/**
 * Hourly readings around the autumn DST change in Berlin, given with their local offsets: 02:30+02:00 and 02:30+01:00
 * are an hour apart, and the gap from 00:30Z to 03:30Z is three hours, so linear interpolation must go by time.
 */
const SERIES = {
  sql: `SELECT * FROM (VALUES
    (1, 's', TIMESTAMPTZ '2024-10-27T01:30:00+02:00', NULL::DOUBLE, NULL::BIGINT, 'x'),
    (2, 's', TIMESTAMPTZ '2024-10-27T02:30:00+02:00', 10.0, 10, NULL),
    (3, 's', TIMESTAMPTZ '2024-10-27T02:30:00+01:00', NULL, NULL, 'y'),
    (4, 's', TIMESTAMPTZ '2024-10-27T04:30:00+01:00', 40.0, 15, NULL),
    (5, 's', TIMESTAMPTZ '2024-10-27T05:30:00+01:00', NULL, NULL, NULL),
    (6, 't', TIMESTAMPTZ '2024-10-27T01:00:00+01:00', 1.0, 1, NULL),
    (7, 't', NULL, NULL, NULL, 'z'),
    (8, 't', TIMESTAMPTZ '2024-10-27T03:00:00+01:00', NULL, 2, NULL)) v(id, station, ts, temp, count, label)`,
};

const run = async (step: Omit<FillNullsStep, 'type'>, table = SERIES) =>
  runStep(fillNullsStep, { type: 'fill_nulls', ...step }, table, { orderBy: 'id' });
const column = (rows: Record<string, unknown>[], name: string) => rows.map((r) => r[name]);

async function failure(step: Omit<FillNullsStep, 'type'>): Promise<AppError> {
  try {
    await run(step);
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the step to be refused');
}

describe('fill_nulls step', () => {
  it('fills a constant cast to each column type, keeping types and positions', async () => {
    const { rows, columns, compiled } = await run({ columns: ['label', 'count'], method: 'constant', value: '7' });
    expect(column(rows, 'label')).toEqual(['x', '7', 'y', '7', '7', '7', 'z', '7']);
    expect(column(rows, 'count')).toEqual([7, 10, 7, 15, 7, 1, 7, 2]);
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'INTEGER'],
      ['station', 'VARCHAR'],
      ['ts', 'TIMESTAMP WITH TIME ZONE'],
      ['temp', 'DOUBLE'],
      ['count', 'BIGINT'],
      ['label', 'VARCHAR'],
    ]);
    expect(compiled.params).toEqual(['7', '7']);
  });

  it('fills timestamps with a constant given with an offset', async () => {
    const { rows } = await run({ columns: ['ts'], method: 'constant', value: '2024-03-31T03:00:00+02:00' });
    expect(rows[6]?.ts).toBe('2024-03-31T01:00:00.000Z');
  });

  it('fills forward and backward in time order within partitions; rows without a time are left alone', async () => {
    const forward = await run({
      columns: ['temp', 'label'],
      method: 'forward',
      orderBy: 'ts',
      partitionBy: ['station'],
    });
    expect(column(forward.rows, 'temp')).toEqual([null, 10, 10, 40, 40, 1, null, 1]);
    expect(column(forward.rows, 'label')).toEqual(['x', 'x', 'y', 'y', 'y', null, 'z', null]);
    const backward = await run({ columns: ['temp'], method: 'backward', orderBy: 'ts', partitionBy: ['station'] });
    expect(column(backward.rows, 'temp')).toEqual([10, 10, 40, 40, null, 1, null, null]);
  });

  it('interpolates linearly by time, across the DST change, leaving the ends null and rounding integers', async () => {
    const { rows, columns } = await run({
      columns: ['temp', 'count'],
      method: 'linear',
      orderBy: 'ts',
      partitionBy: ['station'],
    });
    // 02:30+01:00 is 1 h after 10.0 at 02:30+02:00 and 2 h before 40.0 at 04:30+01:00.
    expect(column(rows, 'temp')).toEqual([null, 10, 20, 40, null, 1, null, null]);
    // count: 10 → 15 over 3 h, one hour in: 11.67 rounds to 12; it stays BIGINT.
    expect(column(rows, 'count')).toEqual([null, 10, 12, 15, null, 1, null, 2]);
    expect(columns.find((c) => c.name === 'count')?.type).toBe('BIGINT');
  });

  it('interpolates by a numeric order column', async () => {
    const { rows } = await run(
      { columns: ['v'], method: 'linear', orderBy: 'x' },
      { sql: 'SELECT * FROM (VALUES (1, 0, 0.0), (2, 1, NULL), (3, 4, 8.0), (4, 5, NULL)) t(id, x, v)' },
    );
    expect(column(rows, 'v')).toEqual([0, 2, 8, null]);
  });

  it('fills the mean and the median, per partition, rounded for integer columns', async () => {
    const mean = await run({ columns: ['temp', 'count'], method: 'mean', partitionBy: ['station'] });
    expect(column(mean.rows, 'temp')).toEqual([25, 10, 25, 40, 25, 1, 1, 1]);
    expect(column(mean.rows, 'count')).toEqual([13, 10, 13, 15, 13, 1, 2, 2]);
    const median = await run({ columns: ['count'], method: 'median' });
    // median of 10, 15, 1, 2 is 6
    expect(column(median.rows, 'count')).toEqual([6, 10, 6, 15, 6, 1, 6, 2]);
  });

  it('works on an empty input', async () => {
    const { rows } = await run(
      { columns: ['temp'], method: 'linear', orderBy: 'ts' },
      { sql: `${SERIES.sql} WHERE false` },
    );
    expect(rows).toEqual([]);
  });

  it('refuses constants that do not fit the column type, at /value', async () => {
    expect((await failure({ columns: ['count'], method: 'constant', value: 'abc' })).errors).toEqual([
      { pointer: '/steps/0/value', message: "'abc' is not a whole number (column 'count' is BIGINT)" },
    ]);
    expect((await failure({ columns: ['temp'], method: 'constant', value: true })).errors).toEqual([
      { pointer: '/steps/0/value', message: "true is not a number (column 'temp' is DOUBLE)" },
    ]);
    expect((await failure({ columns: ['ts'], method: 'constant', value: 'yesterday' })).errors[0]?.pointer).toBe(
      '/steps/0/value',
    );
    expect(
      (await failure({ columns: ['count'], method: 'constant', value: '99999999999999999999' })).errors[0]?.message,
    ).toBe("'99999999999999999999' is out of range for BIGINT (column 'count' is BIGINT)");
  });

  it('refuses missing or misplaced fields and non-numeric columns for numeric methods', async () => {
    expect((await failure({ columns: ['temp'], method: 'constant' })).errors).toEqual([
      { pointer: '/steps/0/value', message: "missing required field 'value' (for method 'constant')" },
    ]);
    expect((await failure({ columns: ['temp'], method: 'forward' })).errors).toEqual([
      { pointer: '/steps/0/orderBy', message: "missing required field 'orderBy' (for method 'forward')" },
    ]);
    expect((await failure({ columns: ['temp'], method: 'mean', orderBy: 'ts' })).errors[0]?.pointer).toBe(
      '/steps/0/orderBy',
    );
    expect((await failure({ columns: ['temp', 'label'], method: 'median' })).errors).toEqual([
      { pointer: '/steps/0/columns/1', message: "column 'label' is VARCHAR: method 'median' needs a numeric column" },
    ]);
    expect((await failure({ columns: ['temp'], method: 'linear', orderBy: 'label' })).errors[0]?.pointer).toBe(
      '/steps/0/orderBy',
    );
    expect((await failure({ columns: ['temp'], method: 'forward', orderBy: 'tz' })).errors).toEqual([
      { pointer: '/steps/0/orderBy', message: "no column named 'tz'; did you mean 'ts'?" },
    ]);
    expect(
      schemaErrors(fillNullsStep.schema, { type: 'fill_nulls', columns: ['a'], method: 'zero' }, '/steps/0'),
    ).toEqual([
      {
        pointer: '/steps/0/method',
        message: "must be one of 'constant', 'forward', 'backward', 'linear', 'mean', 'median'",
      },
    ]);
    expect(
      schemaErrors(
        fillNullsStep.schema,
        { type: 'fill_nulls', columns: ['a'], method: 'constant', value: null },
        '/steps/0',
      ),
    ).toEqual([{ pointer: '/steps/0/value', message: 'must be a string, a number or true or false' }]);
  });
});
