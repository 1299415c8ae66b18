/** compilePipeline end to end: definitions compiled against a real Engine over a Parquet file, then run. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../engine/duckdb.js';
import { ident, literal } from '../engine/sql.js';
import type { AppError } from '../errors.js';
import { compilePipeline, type CompileContext, type CompiledPipeline } from './compile.js';
import type { PipelineDefinition, PipelineStep } from './definition.js';
import type { DatasetRef, ResolvedDataset } from './steps/types.js';

const HOSTILE = '"); DROP TABLE victim; --';
const INPUT = 'ds_01J0000000000000000000000A';
/** A dataset with a column type the expression language has no operators for (checks are left to DuckDB). */
const NESTED = 'ds_01J0000000000000000000000N';
const VERSION = 'dv_01J0000000000000000000000A';

let dir: string;
let engine: Engine;
let relation: string;
let nestedRelation: string;
const resolved: { ref: DatasetRef; pointer: string }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-pipeline-'));
  engine = await Engine.open({ memoryLimit: '1GB', threads: 2, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  const file = path.join(dir, 'input.parquet');
  // Berlin readings around the autumn DST change, given with their local offsets.
  await engine.run(`COPY (SELECT * FROM (VALUES
      (1, 'Berlin', TIMESTAMPTZ '2024-10-27T01:30:00+02:00', 12.5::DOUBLE, true, 'a'),
      (2, 'Berlin', TIMESTAMPTZ '2024-10-27T02:30:00+02:00', NULL, false, 'b'),
      (3, 'Berlin', TIMESTAMPTZ '2024-10-27T02:30:00+01:00', 14.5, NULL, NULL),
      (4, 'Hamburg', TIMESTAMPTZ '2024-10-27T03:30:00+01:00', 9.0, true, 'd'),
      (5, NULL, NULL, 30.0, false, 'e')
    ) v(id, city, ts, temp, flag, ${ident(HOSTILE)})) TO ${literal(file)} (FORMAT parquet)`);
  const nested = path.join(dir, 'nested.parquet');
  await engine.run(`COPY (SELECT 1 AS id, {'a': 1} AS payload) TO ${literal(nested)} (FORMAT parquet)`);
  nestedRelation = `read_parquet(${literal(nested)})`;
  await engine.run('CREATE TABLE victim AS SELECT 1 AS alive');
  relation = `read_parquet(${literal(file)})`;
});

afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

function context(extra: Partial<CompileContext> = {}): CompileContext {
  return {
    engine,
    async resolveDataset(ref: DatasetRef, pointer: string): Promise<ResolvedDataset> {
      resolved.push({ ref, pointer });
      const from = ref.datasetId === NESTED ? nestedRelation : relation;
      return {
        datasetId: ref.datasetId,
        versionId: ref.versionId ?? VERSION,
        relation: from,
        schema: await engine.describe(`SELECT * FROM ${from}`),
      };
    },
    ...extra,
  };
}

const definition = (...steps: PipelineStep[]): PipelineDefinition => ({ input: { datasetId: INPUT }, steps });
const run = async (compiled: { sql: string; params: CompiledPipeline['params'] }) =>
  engine.all(compiled.sql, compiled.params);

async function failure(def: PipelineDefinition, extra: Partial<CompileContext> = {}): Promise<AppError> {
  try {
    await compilePipeline(def, context(extra));
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the pipeline to be refused');
}

const victimIsAlive = async () => expect(await engine.all('SELECT alive FROM victim')).toEqual([{ alive: 1 }]);

describe('compilePipeline', () => {
  it('compiles steps into one statement of chained CTEs and runs it to the exact output', async () => {
    const compiled = await compilePipeline(
      definition(
        { type: 'filter', expression: "city = 'Berlin'" },
        { type: 'fill_nulls', columns: ['temp'], method: 'linear', orderBy: 'ts' },
        { type: 'derive', column: 'temp_f', expression: 'temp * 9 / 5 + 32' },
        { type: 'sort', by: [{ column: 'ts', descending: true }] },
        { type: 'select', columns: ['id', 'ts', 'temp', 'temp_f'] },
      ),
      context(),
    );
    expect(
      compiled.sql.startsWith(
        `WITH "s0" AS (SELECT * FROM ${relation}), "s1" AS (SELECT * FROM "s0" WHERE ("city" = CAST($1 AS VARCHAR))), "s2" AS (`,
      ),
    ).toBe(true);
    expect(compiled.sql.endsWith(' SELECT * FROM "s5"')).toBe(true);
    expect(compiled.params).toEqual(['Berlin', 9, 5, 32]);
    expect(compiled.input).toEqual({ datasetId: INPUT, versionId: VERSION, relation, schema: expect.any(Array) });
    expect(compiled.joins).toEqual([]);
    expect(compiled.schema).toEqual([
      { name: 'id', type: 'INTEGER', nullable: true },
      { name: 'ts', type: 'TIMESTAMP WITH TIME ZONE', nullable: true },
      { name: 'temp', type: 'DOUBLE', nullable: true },
      { name: 'temp_f', type: 'DOUBLE', nullable: true },
    ]);
    // 02:30+02:00 lies 1 h into the 2 h from 12.5 at 01:30+02:00 to 14.5 at 02:30+01:00 (the DST change is between).
    expect(await run(compiled)).toEqual([
      { id: 3, ts: '2024-10-27T01:30:00.000Z', temp: 14.5, temp_f: 58.1 },
      { id: 2, ts: '2024-10-27T00:30:00.000Z', temp: 13.5, temp_f: 56.3 },
      { id: 1, ts: '2024-10-26T23:30:00.000Z', temp: 12.5, temp_f: 54.5 },
    ]);
    expect(compiled.steps.map((s) => [s.index, s.type, s.schema.length])).toEqual([
      [0, 'filter', 6],
      [1, 'fill_nulls', 6],
      [2, 'derive', 7],
      [3, 'sort', 7],
      [4, 'select', 4],
    ]);
  });

  it('gives the rows and parameters after any step with upTo, and the input at -1', async () => {
    const compiled = await compilePipeline(
      definition(
        { type: 'filter', expression: 'temp > 10' },
        { type: 'derive', column: 'warm', expression: "temp > 13 and city <> 'x'" },
        { type: 'rename', columns: { warm: 'is_warm' } },
      ),
      context(),
    );
    expect(compiled.upTo(-1)).toEqual({
      sql: `WITH "s0" AS (SELECT * FROM ${relation}) SELECT * FROM "s0"`,
      params: [],
    });
    expect((await run(compiled.upTo(-1))).map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(compiled.upTo(0).params).toEqual([10]);
    expect((await run(compiled.upTo(0))).map((r) => r.id)).toEqual([1, 3, 5]);
    expect(compiled.upTo(1).params).toEqual([10, 13, 'x']);
    // Row 5 has no city: `city <> 'x'` is null, and so is the conjunction.
    expect((await run(compiled.upTo(1))).map((r) => [r.id, r.warm])).toEqual([
      [1, false],
      [3, true],
      [5, null],
    ]);
    expect(compiled.upTo(2)).toEqual({ sql: compiled.sql, params: compiled.params });
    expect(compiled.steps[1]?.schema.at(-1)).toEqual({ name: 'warm', type: 'BOOLEAN', nullable: true });
    expect(compiled.steps[2]?.schema.at(-1)).toEqual({ name: 'is_warm', type: 'BOOLEAN', nullable: true });
    expect(() => compiled.upTo(3)).toThrow(RangeError);
  });

  it('has the input schema and a plain statement when there are no steps', async () => {
    const compiled = await compilePipeline(
      { input: { datasetId: INPUT, versionId: 'dv_01J0000000000000000000000B' }, steps: [] },
      context({ pointerPrefix: '/definition' }),
    );
    expect(compiled.schema.map((c) => c.name)).toEqual(['id', 'city', 'ts', 'temp', 'flag', HOSTILE]);
    expect(compiled.sql).toBe(`WITH "s0" AS (SELECT * FROM ${relation}) SELECT * FROM "s0"`);
    expect(compiled.input.versionId).toBe('dv_01J0000000000000000000000B');
    expect(resolved.at(-1)).toEqual({
      ref: { datasetId: INPUT, versionId: 'dv_01J0000000000000000000000B' },
      pointer: '/definition/input',
    });
  });

  it('numbers parameters across steps and binds template variables', async () => {
    const compiled = await compilePipeline(
      definition(
        { type: 'filter', expression: 'temp >= $min and city = $city' },
        { type: 'fill_nulls', columns: ['temp'], method: 'constant', value: 0 },
        { type: 'derive', column: 'since', expression: "date_diff('minute', $start, ts)" },
        { type: 'sample', rows: 10, seed: 3 },
        { type: 'sort', by: [{ column: 'id' }] },
      ),
      context({
        variables: {
          min: { type: 'number', value: 10 },
          city: { type: 'text', value: 'Berlin' },
          start: { type: 'timestamp', value: '2024-10-27T02:00:00+02:00' },
        },
      }),
    );
    expect(compiled.params).toEqual([10, 'Berlin', '0', 'minute', '2024-10-27T02:00:00+02:00', 3, 10]);
    expect(compiled.sql).toContain(
      '"s4" AS (SELECT * FROM "s3" ORDER BY hash("id", "city", "ts", "temp", "flag", """); DROP TABLE victim; --", "since", CAST($6 AS BIGINT)) LIMIT CAST($7 AS BIGINT))',
    );
    expect(compiled.upTo(1).params).toEqual([10, 'Berlin', '0']);
    expect((await run(compiled)).map((r) => [r.id, r.temp, r.since])).toEqual([
      [1, 12.5, -30],
      [3, 14.5, 90],
    ]);
  });

  it("keeps the count of a fill's buckets over the CTEs and parameters before it; a join is marked as multiplying rows", async () => {
    const compiled = await compilePipeline(
      definition(
        { type: 'filter', expression: "city = 'Berlin'" },
        { type: 'join', dataset: { datasetId: INPUT }, on: ['id'], how: 'inner' },
        { type: 'resample', time: 'ts', every: '15m', fill: 'zero', aggregations: { temp: 'sum' } },
        { type: 'resample', time: 'ts', every: '1d', timezone: 'Europe/Berlin', aggregations: { temp: 'sum' } },
      ),
      context({ pointerPrefix: '/definition' }),
    );
    expect(compiled.steps.map((s) => s.multipliesRows)).toEqual([false, true, false, false]);
    // The resample without fill makes at most the rows it receives: nothing to count.
    expect(compiled.knownWork).toHaveLength(1);
    const [grid] = compiled.knownWork;
    expect(grid).toMatchObject({
      index: 2,
      type: 'resample',
      pointer: '/definition/steps/2/every',
      params: ['Berlin', '15 minutes'],
    });
    expect(grid?.sql).toMatch(
      /^WITH "s0" AS .*"s2" AS .* SELECT rows FROM \(WITH weir_rows AS .* FROM "s2" .*\) AS counted$/,
    );
    // Berlin from 23:30Z to 01:30Z (ids 1 to 3): 9 quarter hours, as many rows as the step makes.
    expect(await engine.all(grid!.sql, grid!.params)).toEqual([{ rows: 9 }]);
    expect(await run(compiled.upTo(2))).toHaveLength(9);
  });

  it('points at the exact field of the failing step, under the pointer prefix', async () => {
    const steps: PipelineStep[] = [
      { type: 'filter', expression: 'temp > 0' },
      { type: 'derive', column: 'half', expression: 'temp / 2' },
      { type: 'select', columns: ['id', 'half', 'tmep'] },
      { type: 'sort', by: [{ column: 'id' }] },
    ];
    const error = await failure(definition(...steps), { pointerPrefix: '/definition' });
    expect([error.status, error.code, error.errors]).toEqual([
      400,
      'validation_failed',
      [{ pointer: '/definition/steps/2/columns/2', message: "no column named 'tmep'; did you mean 'temp'?" }],
    ]);
    expect(error.message).toBe(
      "Invalid pipeline: no column named 'tmep'; did you mean 'temp'? (at /definition/steps/2/columns/2)",
    );
    // A column made by an earlier step is known to later ones; one dropped by an earlier step is not.
    const dropped = await failure(
      definition({ type: 'select', exclude: ['temp'] }, { type: 'derive', column: 'x', expression: 'temp + 1' }),
    );
    expect(dropped.errors).toEqual([{ pointer: '/steps/1/expression', message: "unknown column 'temp' at 0" }]);
  });

  it('refuses unknown step types with a hint and the list of types', async () => {
    const error = await failure(
      definition({ type: 'filter', expression: 'true' }, { type: 'filtr', expression: 'true' }),
    );
    expect(error.errors).toEqual([
      {
        pointer: '/steps/1/type',
        message:
          "unknown step type 'filtr'; did you mean 'filter'? the step types are select, rename, cast, filter, derive, drop_nulls, fill_nulls, dedupe, sort, sample, outliers, resample, aggregate, join, window",
      },
    ]);
    expect((await failure(definition({ type: 'explode' }))).errors[0]?.message).toBe(
      "unknown step type 'explode'; the step types are select, rename, cast, filter, derive, drop_nulls, fill_nulls, dedupe, sort, sample, outliers, resample, aggregate, join, window",
    );
  });

  it("checks each step's fields against its kind's schema: unknown fields, wrong types, missing fields", async () => {
    expect((await failure(definition({ type: 'filter', expression: 'true', expresion: 'x' }))).errors).toEqual([
      { pointer: '/steps/0/expresion', message: "unknown field 'expresion'; did you mean 'expression'?" },
    ]);
    expect((await failure(definition({ type: 'sort', by: [{ column: 'id', descending: 'yes' }] }))).errors).toEqual([
      { pointer: '/steps/0/by/0/descending', message: 'must be true or false' },
    ]);
    expect((await failure(definition({ type: 'derive', column: 'x' }))).errors).toEqual([
      { pointer: '/steps/0/expression', message: "missing required field 'expression'" },
    ]);
  });

  it('checks the envelope: input, steps, output, parameters', async () => {
    const bad = {
      input: { datasetId: 'nope' },
      steps: [{ kind: 'filter' }],
      output: { nmae: 'x' },
    } as unknown as PipelineDefinition;
    expect((await failure(bad, { pointerPrefix: '/definition' })).errors).toEqual([
      { pointer: '/definition/input/datasetId', message: 'must match ^ds_[0-9A-HJKMNP-TV-Z]{26}$' },
      { pointer: '/definition/steps/0/type', message: "missing required field 'type'" },
      { pointer: '/definition/output/nmae', message: "unknown field 'nmae'; did you mean 'name'?" },
    ]);
    const tooMany = definition(...Array.from({ length: 101 }, () => ({ type: 'filter', expression: 'true' })));
    expect((await failure(tooMany)).errors).toEqual([{ pointer: '/steps', message: 'must have at most 100 items' }]);
  });

  it('turns a step DuckDB cannot bind into a 400 at the step, without SQL or paths', async () => {
    const error = await failure({
      input: { datasetId: NESTED },
      steps: [
        { type: 'filter', expression: 'id > 0' },
        { type: 'derive', column: 'x', expression: 'payload + 1' },
      ],
    });
    expect([error.status, error.code, error.errors]).toEqual([
      400,
      'validation_failed',
      [
        {
          pointer: '/steps/1',
          message: 'this derive step does not fit the columns it receives (DuckDB cannot apply it to their types)',
        },
      ],
    ]);
    expect(JSON.stringify([error.message, error.errors])).not.toMatch(/parquet|SELECT|weir-pipeline|payload/);
  });

  it('handles hostile column names, values and expressions as data, or refuses them cleanly', async () => {
    const compiled = await compilePipeline(
      definition(
        {
          type: 'filter',
          expression: `\`${HOSTILE}\` <> '${HOSTILE.replaceAll("'", "''")}' and city <> '''); DROP TABLE victim; --'`,
        },
        { type: 'rename', columns: { [HOSTILE]: `${HOSTILE} 2` } },
        { type: 'fill_nulls', columns: [`${HOSTILE} 2`], method: 'constant', value: "'); DROP TABLE victim; --" },
        { type: 'select', columns: ['id', `${HOSTILE} 2`] },
      ),
      context(),
    );
    expect(compiled.sql).not.toContain("DROP TABLE victim; --'");
    expect(await run(compiled)).toEqual([
      { id: 1, [`${HOSTILE} 2`]: 'a' },
      { id: 2, [`${HOSTILE} 2`]: 'b' },
      { id: 4, [`${HOSTILE} 2`]: 'd' },
    ]);
    const unknown = await failure(definition({ type: 'select', columns: [HOSTILE.slice(1)] }));
    expect(unknown.errors[0]?.pointer).toBe('/steps/0/columns/0');
    const expression = await failure(definition({ type: 'filter', expression: "city = 'x'); DROP TABLE victim; --" }));
    expect(expression.errors).toEqual([{ pointer: '/steps/0/expression', message: "unexpected ';' at 11" }]);
    const variable = await failure(definition({ type: 'filter', expression: 'city = $1; DROP TABLE victim' }));
    expect(variable.errors[0]?.pointer).toBe('/steps/0/expression');
    const type = await failure(definition({ type: `${HOSTILE}` }));
    expect(type.errors[0]?.pointer).toBe('/steps/0/type');
    await victimIsAlive();
  });
});
