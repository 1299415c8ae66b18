import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { joinStep, type JoinStep } from './join.js';
import { runStep } from './testing.js';

const LEFT = "SELECT * FROM (VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, NULL, 'z'), (4, 'c', 'w')) v(id, k, name)";
const RIGHT =
  "SELECT * FROM (VALUES ('a', 'A', 1), ('a', 'A2', 2), ('b', 'B', 3), (NULL, 'N', 4), ('d', 'D', 5)) v(k, name, score)";

const step = (fields: Partial<JoinStep>): JoinStep => ({
  type: 'join',
  dataset: { datasetId: 'ds_right' },
  on: ['k'],
  how: 'inner',
  ...fields,
});
const run = (fields: Partial<JoinStep>, left = LEFT, right = RIGHT) =>
  runStep(joinStep, step(fields), { sql: left, others: { ds_right: right } }, { orderBy: 'ALL' });

describe('join step', () => {
  it('inner: many matches multiply rows, null keys never match, right key dropped, colliding name suffixed', async () => {
    const { rows, columns, compiled } = await run({});
    expect(columns.map((c) => c.name)).toEqual(['id', 'k', 'name', 'name_right', 'score']);
    expect(rows).toEqual([
      { id: 1, k: 'a', name: 'x', name_right: 'A', score: 1 },
      { id: 1, k: 'a', name: 'x', name_right: 'A2', score: 2 },
      { id: 2, k: 'b', name: 'y', name_right: 'B', score: 3 },
    ]);
    expect(compiled.inputs).toEqual([expect.objectContaining({ datasetId: 'ds_right', versionId: 'dv_latest' })]);
    expect(compiled.params).toEqual([]);
  });

  it('left: unmatched left rows (null key included) kept with nulls', async () => {
    const { rows } = await run({
      how: 'left',
      suffix: '_r',
      dataset: { datasetId: 'ds_right', versionId: 'dv_pinned' },
    });
    expect(rows).toEqual([
      { id: 1, k: 'a', name: 'x', name_r: 'A', score: 1 },
      { id: 1, k: 'a', name: 'x', name_r: 'A2', score: 2 },
      { id: 2, k: 'b', name: 'y', name_r: 'B', score: 3 },
      { id: 3, k: null, name: 'z', name_r: null, score: null },
      { id: 4, k: 'c', name: 'w', name_r: null, score: null },
    ]);
  });

  it('many-to-many: 2 × 2 rows for one key', async () => {
    const { rows } = await run(
      {},
      "SELECT * FROM (VALUES (1, 'a'), (2, 'a')) v(id, k)",
      "SELECT * FROM (VALUES ('a', 10), ('a', 20)) v(k, score)",
    );
    expect(rows.map((r) => [r.id, r.score])).toEqual([
      [1, 10],
      [1, 20],
      [2, 10],
      [2, 20],
    ]);
  });

  it('keys with different names and several keys; the right keys are left out of the output', async () => {
    const right = "SELECT * FROM (VALUES ('a', 'x', 100), ('a', 'other', 200), ('b', 'y', 300)) v(code, label, amount)";
    const { rows, columns } = await run(
      {
        on: [
          { left: 'k', right: 'code' },
          { left: 'name', right: 'label' },
        ],
      },
      LEFT,
      right,
    );
    expect(columns.map((c) => c.name)).toEqual(['id', 'k', 'name', 'amount']);
    expect(rows).toEqual([
      { id: 1, k: 'a', name: 'x', amount: 100 },
      { id: 2, k: 'b', name: 'y', amount: 300 },
    ]);
  });

  it('comparable key types: integer with double, date with timestamp, UUID with arbitrary text', async () => {
    const numbers = await run(
      { on: ['n'] },
      'SELECT * FROM (VALUES (1::INTEGER), (2)) v(n)',
      'SELECT * FROM (VALUES (1.0::DOUBLE, 10), (2.5, 20)) v(n, v)',
    );
    expect(numbers.rows).toEqual([{ n: 1, v: 10 }]);
    const times = await run(
      { on: ['t'] },
      "SELECT * FROM (VALUES (DATE '2024-03-31')) v(t)",
      "SELECT * FROM (VALUES (TIMESTAMP '2024-03-31 00:00', 'midnight'), (TIMESTAMP '2024-03-31 00:01', 'later')) v(t, v)",
    );
    expect(times.rows).toEqual([{ t: '2024-03-31T00:00:00.000Z', v: 'midnight' }]);
    const text = await run(
      { on: ['u'] },
      "SELECT * FROM (VALUES ('00000000-0000-0000-0000-000000000001'::UUID)) v(u)",
      "SELECT * FROM (VALUES ('00000000-0000-0000-0000-000000000001', 1), ('not a uuid', 2)) v(u, v)",
    );
    expect(text.rows).toEqual([{ u: '00000000-0000-0000-0000-000000000001', v: 1 }]);
  });

  it('empty inputs give no rows', async () => {
    expect((await run({}, `${LEFT} WHERE false`)).rows).toEqual([]);
    expect((await run({ how: 'left' }, LEFT, `${RIGHT} WHERE false`)).rows.map((r) => [r.id, r.score])).toEqual([
      [1, null],
      [2, null],
      [3, null],
      [4, null],
    ]);
  });

  it('key type mismatch: 400 at the key', async () => {
    await expect(run({ on: ['k', { left: 'id', right: 'name' }] })).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [
        {
          pointer: '/steps/0/on/1',
          message: "key 'id' (INTEGER) cannot be compared with 'name' (VARCHAR) of the joined dataset",
        },
      ],
    });
  });

  it('unknown keys: 400 at the key (or its side) with a did-you-mean from that side', async () => {
    await expect(run({ on: ['kk'] })).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/on/0', message: "no column named 'kk'; did you mean 'k'?" }],
    });
    await expect(run({ on: [{ left: 'k', right: 'scor' }] })).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/on/0/right', message: "no column named 'scor'; did you mean 'score'?" }],
    });
    await expect(run({ on: [{ left: 'nme', right: 'k' }] })).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/on/0/left', message: "no column named 'nme'; did you mean 'name'?" }],
    });
  });

  it('a suffixed name that collides too: 400 at the suffix', async () => {
    const left = "SELECT * FROM (VALUES ('a', 'x', 'y')) v(k, name, name_right)";
    await expect(run({}, left)).rejects.toMatchObject({
      errors: [
        {
          pointer: '/steps/0/suffix',
          message: "the joined column 'name' would be named 'name_right', which already exists; choose another suffix",
        },
      ],
    });
  });

  it('names differing only in case collide too (DuckDB takes them for one column)', async () => {
    const { columns } = await run({}, LEFT, "SELECT 'a' AS k, 'A' AS NAME, 1 AS Id");
    expect(columns.map((c) => c.name)).toEqual(['id', 'k', 'name', 'NAME_right', 'Id_right']);
  });

  it('the dataset is resolved with the pointer of the dataset field', async () => {
    const input = {
      from: '"s0"',
      schema: [{ name: 'k', type: 'VARCHAR', nullable: true }],
      pointer: '/steps/4',
      paramOffset: 0,
      resolveDataset: (_ref: unknown, pointer: string) => Promise.reject(new Error(`denied at ${pointer}`)),
    };
    await expect(joinStep.compile(step({}), input)).rejects.toThrow('denied at /steps/4/dataset');
  });

  it('an injection-shaped column name is a literal key and column', async () => {
    const evil = '"); DROP TABLE x; --';
    const { rows } = await run(
      { on: [evil] },
      `SELECT 1 AS """); DROP TABLE x; --", 'l' AS v`,
      `SELECT 1 AS """); DROP TABLE x; --", 'r' AS v`,
    );
    expect(rows).toEqual([{ [evil]: 1, v: 'l', v_right: 'r' }]);
    await expect(run({ on: [evil] })).rejects.toMatchObject({ status: 400, errors: [{ pointer: '/steps/0/on/0' }] });
  });

  it('schema: how, empty keys and extra fields are refused', () => {
    expect(Value.Check(joinStep.schema, step({}))).toBe(true);
    expect(Value.Check(joinStep.schema, step({ on: [{ left: 'a', right: 'b' }, 'c'] }))).toBe(true);
    expect(Value.Check(joinStep.schema, { ...step({}), how: 'outer' })).toBe(false);
    expect(Value.Check(joinStep.schema, { ...step({}), on: [] })).toBe(false);
    expect(Value.Check(joinStep.schema, { ...step({}), on: [{ left: 'a' }] })).toBe(false);
    expect(Value.Check(joinStep.schema, { ...step({}), dataset: { datasetId: 'd', sql: 'x' } })).toBe(false);
  });
});
