import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { sortStep, type SortStep } from './sort.js';
import { runStep } from './testing.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    (1, 'b', TIMESTAMPTZ '2024-10-27T02:30:00+01:00'),
    (2, 'a', TIMESTAMPTZ '2024-10-27T02:45:00+02:00'),
    (3, NULL, NULL),
    (4, 'a', TIMESTAMPTZ '2024-10-27T02:15:00+01:00')) v(id, name, ts)`,
};

const ids = async (by: SortStep['by']) => (await runStep(sortStep, { type: 'sort', by }, TABLE)).rows.map((r) => r.id);

describe('sort step', () => {
  it('orders by instants across the DST change (02:45+02:00 comes before 02:15+01:00), nulls last by default', async () => {
    expect(await ids([{ column: 'ts' }])).toEqual([2, 4, 1, 3]);
    expect(await ids([{ column: 'ts', descending: true }])).toEqual([1, 4, 2, 3]);
  });

  it('orders by several keys with nulls placed as asked', async () => {
    expect(
      await ids([
        { column: 'name', nulls: 'first' },
        { column: 'ts', descending: true },
      ]),
    ).toEqual([3, 4, 2, 1]);
  });

  it('works on an empty input', async () => {
    expect(
      (await runStep(sortStep, { type: 'sort', by: [{ column: 'id' }] }, { sql: `${TABLE.sql} WHERE false` })).rows,
    ).toEqual([]);
  });

  it('refuses unknown and repeated columns at /by/i/column, and bad fields', async () => {
    const unknown = (await ids([{ column: 'id' }, { column: 'nam' }]).catch((e: unknown) => e)) as AppError;
    expect([unknown.status, unknown.errors]).toEqual([
      400,
      [{ pointer: '/steps/0/by/1/column', message: "no column named 'nam'; did you mean 'name'?" }],
    ]);
    const twice = (await ids([{ column: 'id' }, { column: 'id', descending: true }]).catch(
      (e: unknown) => e,
    )) as AppError;
    expect(twice.errors).toEqual([{ pointer: '/steps/0/by/1/column', message: "column 'id' is listed twice" }]);
    expect(schemaErrors(sortStep.schema, { type: 'sort', by: [{ colum: 'id' }] }, '/steps/0')).toEqual([
      { pointer: '/steps/0/by/0/column', message: "missing required field 'column'" },
      { pointer: '/steps/0/by/0/colum', message: "unknown field 'colum'; did you mean 'column'?" },
    ]);
    expect(schemaErrors(sortStep.schema, { type: 'sort', by: [{ column: 'id', nulls: 'top' }] }, '/steps/0')).toEqual([
      { pointer: '/steps/0/by/0/nulls', message: "must be one of 'first', 'last'" },
    ]);
  });
});
