import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { selectStep, type SelectStep } from './select.js';
import { runStep } from './testing.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    (1, 'a', TIMESTAMPTZ '2024-03-31T01:30:00+01:00', NULL::DOUBLE),
    (2, NULL, TIMESTAMPTZ '2024-03-31T03:30:00+02:00', 2.5)) v(id, name, ts, "we""ird")`,
};
const EMPTY = { sql: `SELECT * FROM (VALUES (1, 'a')) v(id, name) WHERE false` };

async function failure(step: SelectStep): Promise<AppError> {
  try {
    await runStep(selectStep, step, TABLE);
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the step to be refused');
}

describe('select step', () => {
  it('keeps the listed columns in the listed order, nulls and time zones intact', async () => {
    const { rows, columns, compiled } = await runStep(
      selectStep,
      { type: 'select', columns: ['we"ird', 'ts', 'id'] },
      TABLE,
      { orderBy: 'id' },
    );
    expect(compiled.sql).toMatch(/^SELECT "we""ird", "ts", "id" FROM "t_\w+"$/);
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ['we"ird', 'DOUBLE'],
      ['ts', 'TIMESTAMP WITH TIME ZONE'],
      ['id', 'INTEGER'],
    ]);
    expect(rows).toEqual([
      { 'we"ird': null, ts: '2024-03-31T00:30:00.000Z', id: 1 },
      { 'we"ird': 2.5, ts: '2024-03-31T01:30:00.000Z', id: 2 },
    ]);
  });

  it('drops the excluded columns, keeping the input order', async () => {
    const { rows } = await runStep(selectStep, { type: 'select', exclude: ['ts', 'we"ird'] }, TABLE, { orderBy: 'id' });
    expect(rows).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: null },
    ]);
  });

  it('works on an empty input', async () => {
    const { rows, columns } = await runStep(selectStep, { type: 'select', columns: ['name'] }, EMPTY);
    expect(rows).toEqual([]);
    expect(columns.map((c) => c.name)).toEqual(['name']);
  });

  it('refuses unknown, repeated and conflicting columns with pointers', async () => {
    expect((await failure({ type: 'select', columns: ['id', 'nmae'] })).errors).toEqual([
      { pointer: '/steps/0/columns/1', message: "no column named 'nmae'; did you mean 'name'?" },
    ]);
    expect((await failure({ type: 'select', columns: ['id', 'id'] })).errors).toEqual([
      { pointer: '/steps/0/columns/1', message: "column 'id' is listed twice" },
    ]);
    expect((await failure({ type: 'select', columns: ['id'], exclude: ['ts'] })).errors[0]?.pointer).toBe(
      '/steps/0/exclude',
    );
    expect((await failure({ type: 'select' })).errors).toEqual([
      { pointer: '/steps/0/columns', message: "missing required field 'columns' (or 'exclude')" },
    ]);
    const all = await failure({ type: 'select', exclude: ['id', 'name', 'ts', 'we"ird'] });
    expect([all.status, all.code, all.errors]).toEqual([
      400,
      'validation_failed',
      [{ pointer: '/steps/0/exclude', message: 'cannot exclude every column' }],
    ]);
  });

  it('has a schema that names wrong types and unknown fields', () => {
    expect(schemaErrors(selectStep.schema, { type: 'select', columns: ['a', 3] }, '/steps/1')).toEqual([
      { pointer: '/steps/1/columns/1', message: 'must be a string' },
    ]);
    expect(schemaErrors(selectStep.schema, { type: 'select', colums: ['a'] }, '/steps/1')).toEqual([
      { pointer: '/steps/1/colums', message: "unknown field 'colums'; did you mean 'columns'?" },
    ]);
    expect(schemaErrors(selectStep.schema, { type: 'select', columns: [] }, '/steps/1')).toEqual([
      { pointer: '/steps/1/columns', message: 'must have at least 1 item' },
    ]);
  });
});
