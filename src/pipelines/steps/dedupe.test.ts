import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { dedupeStep, type DedupeStep } from './dedupe.js';
import { runStep } from './testing.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    ('a', TIMESTAMPTZ '2024-10-27T02:30:00+02:00', 1),
    ('a', TIMESTAMPTZ '2024-10-27T02:30:00+01:00', 2),
    ('a', NULL, 3),
    ('b', NULL, 4),
    (NULL, TIMESTAMPTZ '2024-01-01T00:00:00Z', 5),
    (NULL, TIMESTAMPTZ '2024-01-01T00:00:00Z', 5)) v(k, ts, n)`,
};

const run = async (step: Omit<DedupeStep, 'type'>, table = TABLE) =>
  (await runStep(dedupeStep, { type: 'dedupe', ...step }, table, { orderBy: 'n' })).rows;

async function failure(step: Omit<DedupeStep, 'type'>): Promise<AppError> {
  try {
    await run(step);
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the step to be refused');
}

describe('dedupe step', () => {
  it('removes rows equal in every column without a key', async () => {
    expect((await run({})).map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps the first or last row per key by orderBy (an instant, across DST); null order values lose; a null key is a key', async () => {
    expect(await run({ columns: ['k'], keep: 'first', orderBy: 'ts' })).toEqual([
      { k: 'a', ts: '2024-10-27T00:30:00.000Z', n: 1 },
      { k: 'b', ts: null, n: 4 },
      { k: null, ts: '2024-01-01T00:00:00.000Z', n: 5 },
    ]);
    expect((await run({ columns: ['k'], keep: 'last', orderBy: 'ts' })).map((r) => r.n)).toEqual([2, 4, 5]);
    expect((await run({ columns: ['k'], orderBy: 'n' })).map((r) => r.n)).toEqual([1, 4, 5]);
  });

  it("keeps one row per key with keep 'any'", async () => {
    const rows = await run({ columns: ['k'] });
    expect(rows.map((r) => r.k).sort()).toEqual(['a', 'b', null]);
  });

  it('works on an empty input', async () => {
    expect(await run({ columns: ['k'], keep: 'last', orderBy: 'ts' }, { sql: `${TABLE.sql} WHERE false` })).toEqual([]);
  });

  it('refuses inconsistent fields and unknown columns with pointers', async () => {
    expect((await failure({ columns: ['k'], keep: 'last' })).errors).toEqual([
      { pointer: '/steps/0/orderBy', message: "missing required field 'orderBy' (for keep 'last')" },
    ]);
    expect((await failure({ keep: 'first', orderBy: 'ts' })).errors[0]?.pointer).toBe('/steps/0/orderBy');
    expect((await failure({ columns: ['k'], keep: 'any', orderBy: 'ts' })).errors[0]?.pointer).toBe('/steps/0/keep');
    expect((await failure({ columns: ['k', 'kk'] })).errors).toEqual([
      { pointer: '/steps/0/columns/1', message: "no column named 'kk'; did you mean 'k'?" },
    ]);
    expect((await failure({ columns: ['k'], orderBy: 'time' })).errors[0]?.pointer).toBe('/steps/0/orderBy');
    expect(schemaErrors(dedupeStep.schema, { type: 'dedupe', keep: 'latest' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/keep', message: "must be one of 'first', 'last', 'any'" },
    ]);
  });
});
