import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { sampleStep, type SampleStep } from './sample.js';
import { runStep } from './testing.js';

/** 1,000 rows with a timestamp column crossing the spring DST change in Berlin. */
const TABLE = {
  sql: `SELECT i AS id, TIMESTAMPTZ '2024-03-31T01:00:00+01:00' + i * INTERVAL 1 MINUTE AS ts, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.5 END AS v FROM range(1000) r(i)`,
};

const ids = async (step: Omit<SampleStep, 'type'>, table = TABLE) =>
  (await runStep(sampleStep, { type: 'sample', ...step }, table, { orderBy: 'id' })).rows.map((r) => r.id as number);

describe('sample step', () => {
  it('keeps exactly `rows` rows, the same ones for the same seed, whatever the input order', async () => {
    const first = await ids({ rows: 10, seed: 42 });
    expect(first).toHaveLength(10);
    expect(new Set(first).size).toBe(10);
    expect(await ids({ rows: 10, seed: 42 })).toEqual(first);
    expect(await ids({ rows: 10, seed: 42 }, { sql: `SELECT * FROM (${TABLE.sql}) ORDER BY id DESC` })).toEqual(first);
    expect(await ids({ rows: 10, seed: 43 })).not.toEqual(first);
  });

  it('keeps all rows when asking for more than there are', async () => {
    expect(await ids({ rows: 5000, seed: 1 })).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('keeps about `fraction` of the rows, repeatably with a seed', async () => {
    const kept = await ids({ fraction: 0.25, seed: 7 });
    expect(kept.length).toBeGreaterThan(200);
    expect(kept.length).toBeLessThan(300);
    expect(await ids({ fraction: 0.25, seed: 7 })).toEqual(kept);
    expect(await ids({ fraction: 1, seed: 7 })).toHaveLength(1000);
  });

  it('works on an empty input', async () => {
    expect(await ids({ rows: 3, seed: 1 }, { sql: `${TABLE.sql} WHERE false` })).toEqual([]);
  });

  it('binds its numbers as parameters and refuses ambiguous or missing sizes', async () => {
    const { compiled } = await runStep(sampleStep, { type: 'sample', rows: 2, seed: 9 }, TABLE);
    expect(compiled.sql).toMatch(
      /^SELECT \* FROM "t_\w+" ORDER BY hash\("id", "ts", "v", CAST\(\$1 AS BIGINT\)\) LIMIT CAST\(\$2 AS BIGINT\)$/,
    );
    expect(compiled.params).toEqual([9, 2]);
    const both = (await ids({ rows: 2, fraction: 0.5 }).catch((e: unknown) => e)) as AppError;
    expect([both.status, both.errors]).toEqual([
      400,
      [{ pointer: '/steps/0/fraction', message: "give either 'rows' or 'fraction', not both" }],
    ]);
    const none = (await ids({ seed: 1 }).catch((e: unknown) => e)) as AppError;
    expect(none.errors).toEqual([
      { pointer: '/steps/0/rows', message: "missing required field 'rows' (or 'fraction')" },
    ]);
    expect(schemaErrors(sampleStep.schema, { type: 'sample', fraction: 1.5 }, '/steps/0')).toEqual([
      { pointer: '/steps/0/fraction', message: 'must be <= 1' },
    ]);
    expect(schemaErrors(sampleStep.schema, { type: 'sample', rows: 2.5 }, '/steps/0')).toEqual([
      { pointer: '/steps/0/rows', message: 'must be an integer' },
    ]);
    expect(schemaErrors(sampleStep.schema, { type: 'sample', rows: '2' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/rows', message: 'must be an integer' },
    ]);
  });
});
