import { describe, expect, it } from 'vitest';
import type { AppError } from '../../errors.js';
import { schemaErrors } from './common.js';
import { renameStep, type RenameStep } from './rename.js';
import { runStep } from './testing.js';

const TABLE = {
  sql: `SELECT * FROM (VALUES
    (1, 'a', TIMESTAMPTZ '2024-10-27T02:30:00+02:00'),
    (2, NULL, TIMESTAMPTZ '2024-10-27T02:30:00+01:00')) v(id, name, "a/b")`,
};

async function failure(step: RenameStep): Promise<AppError> {
  try {
    await runStep(renameStep, step, TABLE);
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the step to be refused');
}

describe('rename step', () => {
  it('renames in place, keeping order, values and types; names may be swapped', async () => {
    const { rows, columns } = await runStep(
      renameStep,
      { type: 'rename', columns: { id: 'name', name: 'id', 'a/b': 'when "x"' } },
      TABLE,
      { orderBy: '"name"' },
    );
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ['name', 'INTEGER'],
      ['id', 'VARCHAR'],
      ['when "x"', 'TIMESTAMP WITH TIME ZONE'],
    ]);
    expect(rows).toEqual([
      { name: 1, id: 'a', 'when "x"': '2024-10-27T00:30:00.000Z' },
      { name: 2, id: null, 'when "x"': '2024-10-27T01:30:00.000Z' },
    ]);
  });

  it('works on an empty input', async () => {
    const { rows, columns } = await runStep(
      renameStep,
      { type: 'rename', columns: { id: 'key' } },
      { sql: `${TABLE.sql} WHERE false` },
    );
    expect([rows, columns.map((c) => c.name)]).toEqual([[], ['key', 'name', 'a/b']]);
  });

  it('refuses unknown columns and colliding names (ignoring case, as DuckDB does), pointing at the key', async () => {
    expect((await failure({ type: 'rename', columns: { 'a/c': 'x' } })).errors).toEqual([
      { pointer: '/steps/0/columns/a~1c', message: "no column named 'a/c'; did you mean 'a/b'?" },
    ]);
    expect((await failure({ type: 'rename', columns: { id: 'NAME' } })).errors).toEqual([
      {
        pointer: '/steps/0/columns/id',
        message: "renaming gives two columns named 'name' (names are compared ignoring case)",
      },
    ]);
    const both = await failure({ type: 'rename', columns: { id: 'x', name: 'x' } });
    expect([both.status, both.code, both.errors]).toEqual([
      400,
      'validation_failed',
      [
        {
          pointer: '/steps/0/columns/name',
          message: "renaming gives two columns named 'x' (names are compared ignoring case)",
        },
      ],
    ]);
  });

  it('has a schema that refuses empty maps, empty and non-text names', () => {
    expect(schemaErrors(renameStep.schema, { type: 'rename', columns: {} }, '/steps/0')).toEqual([
      { pointer: '/steps/0/columns', message: 'must have at least 1 entry' },
    ]);
    expect(schemaErrors(renameStep.schema, { type: 'rename', columns: { a: '' } }, '/steps/0')).toEqual([
      { pointer: '/steps/0/columns/a', message: 'must not be empty' },
    ]);
    expect(schemaErrors(renameStep.schema, { type: 'rename', columns: { a: 1 } }, '/steps/0')).toEqual([
      { pointer: '/steps/0/columns/a', message: 'must be a string' },
    ]);
    expect(schemaErrors(renameStep.schema, { type: 'rename' }, '/steps/0')).toEqual([
      { pointer: '/steps/0/columns', message: "missing required field 'columns'" },
    ]);
  });
});
