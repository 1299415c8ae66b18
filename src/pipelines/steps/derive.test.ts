import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { deriveStep, type DeriveStep } from './derive.js';
import { runStep } from './testing.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    (1, 'a', TIMESTAMPTZ '2024-03-31T01:30:00+01:00', 2.0),
    (2, NULL, TIMESTAMPTZ '2024-03-31T03:30:00+02:00', NULL)) v(id, name, ts, price)`,
};

async function failure(step: DeriveStep): Promise<AppError> {
  try {
    await runStep(deriveStep, step, TABLE);
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the step to be refused');
}

describe('derive step', () => {
  it('appends a computed column; nulls propagate', async () => {
    const { rows, columns } = await runStep(
      deriveStep,
      { type: 'derive', column: 'gross price', expression: 'price * 1.19' },
      TABLE,
      { orderBy: 'id' },
    );
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'INTEGER'],
      ['name', 'VARCHAR'],
      ['ts', 'TIMESTAMP WITH TIME ZONE'],
      ['price', 'DECIMAL(2,1)'],
      ['gross price', 'DOUBLE'],
    ]);
    expect(rows.map((r) => r['gross price'])).toEqual([2.38, null]);
  });

  it('computes hours across the spring DST change in UTC (the gap is one hour, not two)', async () => {
    const { rows } = await runStep(deriveStep, { type: 'derive', column: 'hour', expression: 'hour(ts)' }, TABLE, {
      orderBy: 'id',
    });
    expect(rows.map((r) => r.hour)).toEqual([0, 1]);
  });

  it('replaces a column in place with replace: true', async () => {
    const { rows, columns } = await runStep(
      deriveStep,
      { type: 'derive', column: 'name', expression: "coalesce(upper(name), '?')", replace: true },
      TABLE,
      { orderBy: 'id' },
    );
    expect(columns.map((c) => c.name)).toEqual(['id', 'name', 'ts', 'price']);
    expect(rows.map((r) => r.name)).toEqual(['A', '?']);
  });

  it('works on an empty input', async () => {
    const { rows, columns } = await runStep(
      deriveStep,
      { type: 'derive', column: 'x', expression: 'id + 1' },
      { sql: `${TABLE.sql} WHERE false` },
    );
    expect([rows, columns.at(-1)]).toEqual([[], { name: 'x', type: 'BIGINT', nullable: true }]);
  });

  it('refuses an existing name (ignoring case) without replace, a missing one with replace, and bad expressions', async () => {
    expect((await failure({ type: 'derive', column: 'Name', expression: '1' })).errors).toEqual([
      { pointer: '/steps/0/column', message: "a column named 'name' already exists" },
    ]);
    expect((await failure({ type: 'derive', column: 'nam', expression: '1', replace: true })).errors).toEqual([
      { pointer: '/steps/0/column', message: "no column named 'nam'; did you mean 'name'?" },
    ]);
    expect((await failure({ type: 'derive', column: 'x', expression: "price + 'a'" })).errors[0]?.pointer).toBe(
      '/steps/0/expression',
    );
    expect(
      schemaErrors(deriveStep.schema, { type: 'derive', column: 'x', expression: 'price', replace: 'yes' }, '/steps/0'),
    ).toEqual([{ pointer: '/steps/0/replace', message: 'must be true or false' }]);
    expect(schemaErrors(deriveStep.schema, { type: 'derive', expression: 'price' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/column', message: "missing required field 'column'" },
    ]);
  });
});
