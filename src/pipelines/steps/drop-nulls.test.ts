import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { dropNullsStep } from './drop-nulls.js';
import { runStep } from './testing.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    (1, 'a', TIMESTAMPTZ '2024-10-27T02:30:00+02:00', 1.0),
    (2, NULL, TIMESTAMPTZ '2024-10-27T02:30:00+01:00', 'NaN'::DOUBLE),
    (3, NULL, NULL, 3.0),
    (4, NULL, NULL, NULL)) v(id, name, ts, value)`,
};

const ids = (rows: Record<string, unknown>[]) => rows.map((r) => r.id);

describe('drop_nulls step', () => {
  it('drops rows with a null in any column by default; NaN is a value', async () => {
    expect(ids((await runStep(dropNullsStep, { type: 'drop_nulls' }, TABLE, { orderBy: 'id' })).rows)).toEqual([1]);
    expect(
      ids((await runStep(dropNullsStep, { type: 'drop_nulls', columns: ['value'] }, TABLE, { orderBy: 'id' })).rows),
    ).toEqual([1, 2, 3]);
  });

  it("with how: 'all' drops only rows null in every listed column", async () => {
    const { rows } = await runStep(dropNullsStep, { type: 'drop_nulls', columns: ['name', 'ts'], how: 'all' }, TABLE, {
      orderBy: 'id',
    });
    expect(rows).toEqual([
      { id: 1, name: 'a', ts: '2024-10-27T00:30:00.000Z', value: 1 },
      { id: 2, name: null, ts: '2024-10-27T01:30:00.000Z', value: null },
    ]);
  });

  it('works on an empty input', async () => {
    expect((await runStep(dropNullsStep, { type: 'drop_nulls' }, { sql: `${TABLE.sql} WHERE false` })).rows).toEqual(
      [],
    );
  });

  it('refuses unknown columns and bad fields with pointers', async () => {
    const error = (await runStep(dropNullsStep, { type: 'drop_nulls', columns: ['name', 'vlaue'] }, TABLE).catch(
      (e: unknown) => e,
    )) as AppError;
    expect([error.status, error.code, error.errors]).toEqual([
      400,
      'validation_failed',
      [{ pointer: '/steps/0/columns/1', message: "no column named 'vlaue'; did you mean 'value'?" }],
    ]);
    expect(schemaErrors(dropNullsStep.schema, { type: 'drop_nulls', how: 'some' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/how', message: "must be one of 'any', 'all'" },
    ]);
    expect(schemaErrors(dropNullsStep.schema, { type: 'drop_nulls', columns: 'name' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/columns', message: 'must be an array' },
    ]);
  });
});
