import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { castStep, type CastStep } from './cast.js';
import { schemaErrors } from './common.js';
import { runStep } from './testing.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    (1, '12', '2024-03-31T01:30:00+01:00', 2.5, 'true'),
    (2, 'x', '2024-03-31T03:30:00+02:00', -2.5, NULL),
    (3, NULL, NULL, NULL, 'no')) v(id, code, stamp, amount, flag)`,
};

async function failure(step: CastStep, table = TABLE): Promise<AppError> {
  try {
    await runStep(castStep, step, table);
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the step to be refused');
}

describe('cast step', () => {
  it("converts with TRY_CAST under onError 'null', keeping column order; timestamps with DST offsets become UTC instants", async () => {
    const step: CastStep = {
      type: 'cast',
      columns: { code: 'integer', stamp: 'timestamp', amount: 'integer', flag: 'boolean', id: 'text' },
      onError: 'null',
    };
    const { rows, columns } = await runStep(castStep, step, TABLE, { orderBy: 'id' });
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'VARCHAR'],
      ['code', 'BIGINT'],
      ['stamp', 'TIMESTAMP WITH TIME ZONE'],
      ['amount', 'BIGINT'],
      ['flag', 'BOOLEAN'],
    ]);
    expect(rows).toEqual([
      { id: '1', code: 12, stamp: '2024-03-31T00:30:00.000Z', amount: 3, flag: true },
      { id: '2', code: null, stamp: '2024-03-31T01:30:00.000Z', amount: -3, flag: null },
      { id: '3', code: null, stamp: null, amount: null, flag: false },
    ]);
  });

  it('casts timestamps to dates in UTC and numbers to text', async () => {
    const { rows } = await runStep(
      castStep,
      { type: 'cast', columns: { stamp: 'date', amount: 'text' } },
      { sql: `SELECT TIMESTAMPTZ '2024-10-27T00:30:00+02:00' AS stamp, 1.5::DOUBLE AS amount` },
    );
    expect(rows).toEqual([{ stamp: '2024-10-26T00:00:00.000Z', amount: '1.5' }]);
  });

  it("makes a value that does not convert a run-time error under onError 'fail' (the default)", async () => {
    const { compiled } = await runStep(
      castStep,
      { type: 'cast', columns: { code: 'number' } },
      { sql: `${TABLE.sql} WHERE id = 1` },
    );
    expect(compiled.sql).toMatch(
      /^SELECT "id", CAST\("code" AS DOUBLE\) AS "code", "stamp", "amount", "flag" FROM "t_\w+"$/,
    );
    await expect(runStep(castStep, { type: 'cast', columns: { code: 'number' } }, TABLE)).rejects.toThrow(
      /Conversion Error/,
    );
  });

  it('works on an empty input', async () => {
    const { rows, columns } = await runStep(
      castStep,
      { type: 'cast', columns: { code: 'date' } },
      { sql: `${TABLE.sql} WHERE false` },
    );
    expect([rows, columns[1]?.type]).toEqual([[], 'DATE']);
  });

  it('refuses unknown columns and unknown types with pointers', async () => {
    expect((await failure({ type: 'cast', columns: { cod: 'integer' } })).errors).toEqual([
      { pointer: '/steps/0/columns/cod', message: "no column named 'cod'; did you mean 'code'?" },
    ]);
    expect(
      (
        await failure(
          { type: 'cast', columns: { flag: 'text', stamp: 'boolean' } },
          { sql: "SELECT true AS flag, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS stamp" },
        )
      ).errors,
    ).toEqual([
      {
        pointer: '/steps/0/columns/stamp',
        message: "column 'stamp' is TIMESTAMP WITH TIME ZONE, which cannot be converted to boolean",
      },
    ]);
    expect(
      (await failure({ type: 'cast', columns: { flag: 'date' } }, { sql: 'SELECT true AS flag' })).errors[0]?.message,
    ).toBe("column 'flag' is BOOLEAN, which cannot be converted to date");
    expect(schemaErrors(castStep.schema, { type: 'cast', columns: { code: 'float' } }, '/steps/0')).toEqual([
      {
        pointer: '/steps/0/columns/code',
        message: "must be one of 'integer', 'number', 'text', 'boolean', 'timestamp', 'date'",
      },
    ]);
    expect(
      schemaErrors(castStep.schema, { type: 'cast', columns: { code: 'text' }, onError: 'skip' }, '/steps/0'),
    ).toEqual([{ pointer: '/steps/0/onError', message: "must be one of 'fail', 'null'" }]);
    expect(schemaErrors(castStep.schema, { type: 'cast' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/columns', message: "missing required field 'columns'" },
    ]);
  });
});
