import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { filterStep } from './filter.js';
import { runStep } from './testing.js';
import type { StepInput } from './types.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    (1, 'a', TIMESTAMPTZ '2024-03-31T01:30:00+01:00', 10.5),
    (2, NULL, TIMESTAMPTZ '2024-03-31T03:30:00+02:00', NULL),
    (3, 'c', TIMESTAMPTZ '2024-10-27T02:30:00+02:00', 30.0),
    (4, 'd', TIMESTAMPTZ '2024-10-27T02:30:00+01:00', 40.0)) v(id, name, ts, temp)`,
};

describe('filter step', () => {
  it('keeps rows where the condition is true; null is not true', async () => {
    const { rows, compiled } = await runStep(
      filterStep,
      { type: 'filter', expression: 'temp > 20 or name is null' },
      TABLE,
      { orderBy: 'id' },
    );
    expect(rows.map((r) => r.id)).toEqual([2, 3, 4]);
    expect(compiled.params).toEqual([20]);
    expect(
      (await runStep(filterStep, { type: 'filter', expression: "name <> 'a'" }, TABLE, { orderBy: 'id' })).rows.map(
        (r) => r.id,
      ),
    ).toEqual([3, 4]);
  });

  it('compares timestamps across the DST change as instants', async () => {
    const { rows } = await runStep(
      filterStep,
      { type: 'filter', expression: "ts >= '2024-10-27T02:00:00+01:00'" },
      TABLE,
      { orderBy: 'id' },
    );
    expect(rows).toEqual([{ id: 4, name: 'd', ts: '2024-10-27T01:30:00.000Z', temp: 40 }]);
  });

  it('numbers its placeholders after the earlier steps', () => {
    const compiled = filterStep.compile(
      { type: 'filter', expression: "name in ('a', 'c')" },
      {
        from: '"s3"',
        schema: [{ name: 'name', type: 'VARCHAR', nullable: true }],
        pointer: '/steps/3',
        paramOffset: 3,
        resolveDataset: () => Promise.reject(new Error('unused')),
      },
    );
    expect(compiled).toEqual({
      sql: 'SELECT * FROM "s3" WHERE ("name" IN (CAST($4 AS VARCHAR), CAST($5 AS VARCHAR)))',
      params: ['a', 'c'],
    });
  });

  it('binds template parameters ($name) given with the input', () => {
    const input: StepInput = {
      from: '"s1"',
      schema: [{ name: 'temp', type: 'DOUBLE', nullable: true }],
      pointer: '/steps/1',
      paramOffset: 2,
      resolveDataset: () => Promise.reject(new Error('unused')),
      variables: { limit: { type: 'number', value: 25 } },
    };
    expect(filterStep.compile({ type: 'filter', expression: 'temp > $limit' }, input)).toEqual({
      sql: 'SELECT * FROM "s1" WHERE ("temp" > CAST($3 AS DOUBLE))',
      params: [25],
    });
  });

  it('works on an empty input', async () => {
    expect(
      (await runStep(filterStep, { type: 'filter', expression: 'temp > 0' }, { sql: `${TABLE.sql} WHERE false` })).rows,
    ).toEqual([]);
  });

  it('refuses conditions that are not true/false, and unknown columns, at /expression', async () => {
    const notBoolean = await runStep(filterStep, { type: 'filter', expression: 'temp + 1' }, TABLE).catch(
      (e: AppError) => e,
    );
    expect((notBoolean as AppError).errors).toEqual([
      {
        pointer: '/steps/0/expression',
        message: 'expected a condition (true/false), but the expression is a number at 0',
      },
    ]);
    const unknown = await runStep(filterStep, { type: 'filter', expression: 'tmp > 1' }, TABLE).catch(
      (e: AppError) => e,
    );
    expect([(unknown as AppError).status, (unknown as AppError).errors]).toEqual([
      400,
      [{ pointer: '/steps/0/expression', message: "unknown column 'tmp' at 0; did you mean 'temp'?" }],
    ]);
    expect(schemaErrors(filterStep.schema, { type: 'filter', expression: 1 }, '/steps/0')).toEqual([
      { pointer: '/steps/0/expression', message: 'must be a string' },
    ]);
    expect(schemaErrors(filterStep.schema, { type: 'filter' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/expression', message: "missing required field 'expression'" },
    ]);
  });
});
