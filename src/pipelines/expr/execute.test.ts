/** Compiled expressions run on a real DuckDB (the app's Engine, session time zone UTC) over rows with known values. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../engine/duckdb.js';
import { compileExpression, FUNCTIONS, type CompileOptions, type ExprColumn } from './index.js';

let dir: string;
let engine: Engine;
let schema: ExprColumn[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-expr-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 1, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  await engine.run(`CREATE TABLE t (
    id INTEGER, name VARCHAR, price DOUBLE, qty BIGINT, amount DECIMAL(10,2), active BOOLEAN,
    ts TIMESTAMPTZ, naive TIMESTAMP, day DATE, code VARCHAR, "unit price" DOUBLE, "it's" VARCHAR)`);
  await engine.run(`INSERT INTO t VALUES
    (1, 'apple', 1.5, 10, 15.00, true, '2024-01-01 10:00:00+00', '2024-01-01 10:00:00', '2024-01-01', '12', 2.0, 'x'),
    (2, 'O''Brien', 2.25, 0, 0.00, false, '2024-01-02 23:30:00+00', '2024-01-02 23:30:00', '2024-01-02', 'abc', NULL, 'y'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, 'Ünïcödé 😀', -3, 5, -7.50, true, '2023-12-31 23:59:59.5+00', '2023-12-31 23:59:59.5', '2023-12-31', '-0.5', 1, 'z'),
    (5, '50% off_', 0, 3, 1.25, false, '2024-02-29 12:00:00+00', '2024-02-29 12:00:00', '2024-02-29', '1700000000', 0, '')`);
  const described = await engine.all('DESCRIBE t');
  schema = described.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
});

afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Ids of the rows `source` keeps as a filter. */
async function ids(source: string): Promise<unknown[]> {
  const e = compileExpression(source, schema, { expect: 'boolean' });
  return (await engine.all(`SELECT id FROM t WHERE ${e.sql} ORDER BY id`, e.params)).map((r) => r.id);
}

/** `source` computed for each row, in id order. */
async function values(source: string): Promise<unknown[]> {
  const e = compileExpression(source, schema);
  return (await engine.all(`SELECT ${e.sql} AS x FROM t ORDER BY id`, e.params)).map((r) => r.x);
}

/** `source` computed once, without a table. */
async function scalar(source: string): Promise<unknown> {
  const e = compileExpression(source, []);
  const [row] = await engine.all(`SELECT ${e.sql} AS x`, e.params);
  return row?.x;
}

describe('filters (WHERE) on DuckDB', () => {
  it.each([
    ['price > 1', [1, 2]],
    ['price / qty > 0.1', [1]],
    // Division by zero is null, also for doubles (where DuckDB would give ±Infinity or NaN).
    ['qty / 0 is null', [1, 2, 3, 4, 5]],
    ['price / 0 is null and price % 0 is null and amount / 0 is null', [1, 2, 3, 4, 5]],
    ['price / (qty - qty) is null', [1, 2, 3, 4, 5]],
    ["name = 'O''Brien'", [2]],
    ["name like '%''%'", [2]],
    ["name ilike 'APPLE'", [1]],
    ["name not like 'a%'", [2, 4, 5]],
    ["name like '50%'", [5]],
    ["name like '%😀'", [4]],
    ['name is null', [3]],
    ['name is not null', [1, 2, 4, 5]],
    ["name in ('apple', 'Ünïcödé 😀')", [1, 4]],
    ["name not in ('apple')", [2, 4, 5]],
    // SQL semantics, kept: NOT IN with a null in the list is never true.
    ["name not in ('apple', null)", []],
    ['qty between 1 and 5', [4, 5]],
    ['qty not between 1 and 5', [1, 2]],
    ['active', [1, 4]],
    ['not active', [2, 5]],
    ['active = false', [2, 5]],
    ['active or qty = 0', [1, 2, 4]],
    ['not (active or qty = 0)', [5]],
    ["ts >= '2024-01-01' and ts < '2024-01-02T00:00:00Z'", [1]],
    ["ts > '2024-01-01T12:00:00+02:00'", [2, 5]],
    ["naive = '2024-01-01 10:00:00'", [1]],
    ['naive = ts', [1, 2, 4, 5]],
    ["day = '2024-02-29'", [5]],
    ["day < '2024-01-01T12:00:00Z'", [1, 4]],
    ["day between '2024-01-01' and '2024-01-31'", [1, 2]],
    ['year(ts) = 2023', [4]],
    ["date_trunc('day', ts) = '2024-01-02'", [2]],
    ["date_trunc('month', day) = '2024-02-01'", [5]],
    ["date_diff('day', day, '2024-03-01') < 60", [2, 5]],
    ['hour(ts) = 23', [2, 4]],
    ['to_date(ts) = day', [1, 2, 4, 5]],
    ['now() > ts', [1, 2, 4, 5]],
    ['`unit price` >= 1', [1, 4]],
    ["`it's` = ''", [5]],
    ['coalesce(price, 0) = 0', [3, 5]],
    ["contains(name, 'ï')", [4]],
    ["starts_with(code, '1')", [1, 5]],
    ["ends_with(name, '_')", [5]],
    ['to_number(code) > 0', [1, 5]],
    ['length(name) > 7', [4, 5]],
    ['case when qty > 5 then true else false end', [1]],
    ['amount < 0 or amount > 10', [1, 4]],
  ])('%s keeps %j', async (source, expected) => {
    expect(await ids(source)).toEqual(expected);
  });
});

describe('derived values (SELECT) on DuckDB', () => {
  it.each([
    ['price / qty', [0.15, null, null, -0.6, 0]],
    ['qty % 2', [0, 0, null, 1, 1]],
    ['qty / 0', [null, null, null, null, null]],
    ['price % 0', [null, null, null, null, null]],
    ['-qty', [-10, 0, null, -5, -3]],
    ['coalesce(price, 0)', [1.5, 2.25, 0, -3, 0]],
    ['nullif(qty, 0)', [10, null, null, 5, 3]],
    ['sqrt(price)', [Math.sqrt(1.5), 1.5, null, null, 0]],
    ['ln(price)', [Math.log(1.5), Math.log(2.25), null, null, null]],
    ['round(amount, 1)', [15, 0, null, -7.5, 1.3]],
    ['round(price)', [2, 2, null, -3, 0]],
    ['floor(price)', [1, 2, null, -3, 0]],
    ['ceil(price)', [2, 3, null, -3, 0]],
    ['abs(amount)', [15, 0, null, 7.5, 1.25]],
    ['power(qty, 2)', [100, 0, null, 25, 9]],
    ['greatest(price, qty)', [10, 2.25, null, 5, 3]],
    ['least(price, qty)', [1.5, 0, null, -3, 0]],
    ['length(name)', [5, 7, null, 9, 8]],
    ['upper(name)', ['APPLE', "O'BRIEN", null, 'ÜNÏCÖDÉ 😀', '50% OFF_']],
    ['substr(name, 2, 3)', ['ppl', "'Br", null, 'nïc', '0% ']],
    ["replace(name, '''', '')", ['apple', 'OBrien', null, 'Ünïcödé 😀', '50% off_']],
    ["concat(name, '-', qty)", ['apple-10', "O'Brien-0", '-', 'Ünïcödé 😀-5', '50% off_-3']],
    ["name || '!'", ['apple!', "O'Brien!", null, 'Ünïcödé 😀!', '50% off_!']],
    [
      "case when qty > 5 then 'many' when qty > 0 then 'some' else 'none' end",
      ['many', 'none', 'none', 'some', 'some'],
    ],
    [
      'to_text(ts)',
      [
        '2024-01-01T10:00:00.000Z',
        '2024-01-02T23:30:00.000Z',
        null,
        '2023-12-31T23:59:59.500Z',
        '2024-02-29T12:00:00.000Z',
      ],
    ],
    [
      'to_text(naive)',
      [
        '2024-01-01T10:00:00.000Z',
        '2024-01-02T23:30:00.000Z',
        null,
        '2023-12-31T23:59:59.500Z',
        '2024-02-29T12:00:00.000Z',
      ],
    ],
    ['to_text(day)', ['2024-01-01', '2024-01-02', null, '2023-12-31', '2024-02-29']],
    ['to_text(price)', ['1.5', '2.25', null, '-3.0', '0.0']],
    ['to_text(active)', ['true', 'false', null, 'true', 'false']],
    [
      "strftime(ts, '%Y/%m/%d %H:%M')",
      ['2024/01/01 10:00', '2024/01/02 23:30', null, '2023/12/31 23:59', '2024/02/29 12:00'],
    ],
    ['hour(ts)', [10, 23, null, 23, 12]],
    ['minute(ts)', [0, 30, null, 59, 0]],
    ['month(day)', [1, 1, null, 12, 2]],
    ['day(day)', [1, 2, null, 31, 29]],
    [
      "date_trunc('hour', ts)",
      [
        '2024-01-01T10:00:00.000Z',
        '2024-01-02T23:00:00.000Z',
        null,
        '2023-12-31T23:00:00.000Z',
        '2024-02-29T12:00:00.000Z',
      ],
    ],
    ["date_diff('day', day, '2024-03-01')", [60, 59, null, 61, 1]],
    ["date_diff('minute', naive, ts)", [0, 0, null, 0, 0]],
    ['to_number(code)', [12, null, null, -0.5, 1_700_000_000]],
    [
      'to_timestamp(to_number(code))',
      ['1970-01-01T00:00:12.000Z', null, null, '1969-12-31T23:59:59.500Z', '2023-11-14T22:13:20.000Z'],
    ],
    [
      'to_timestamp(qty * 86400)',
      [
        '1970-01-11T00:00:00.000Z',
        '1970-01-01T00:00:00.000Z',
        null,
        '1970-01-06T00:00:00.000Z',
        '1970-01-04T00:00:00.000Z',
      ],
    ],
    [
      'to_timestamp(to_text(day))',
      [
        '2024-01-01T00:00:00.000Z',
        '2024-01-02T00:00:00.000Z',
        null,
        '2023-12-31T00:00:00.000Z',
        '2024-02-29T00:00:00.000Z',
      ],
    ],
    ['to_date(code)', [null, null, null, null, null]],
    ['to_boolean(qty)', [true, false, null, true, true]],
    [
      'case when active then ts else day end',
      [
        '2024-01-01T10:00:00.000Z',
        '2024-01-02T00:00:00.000Z',
        null,
        '2023-12-31T23:59:59.500Z',
        '2024-02-29T00:00:00.000Z',
      ],
    ],
    ['`unit price` * 2', [4, null, null, 2, 0]],
  ])('%s', async (source, expected) => {
    expect(await values(source)).toEqual(expected);
  });
});

describe('constant expressions on DuckDB', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 2 - 3', 5],
    ['100 / 10 / 5', 2],
    ['2 * 3 % 4', 2],
    ['7 % 3', 1],
    ['10 / 4', 2.5],
    ['1 / 0', null],
    ['1.5 % 0', null],
    ['- - 3', 3],
    ['2 - -3', 5],
    ["'a' || 'b' || null", null],
    ["'it''s'", "it's"],
    ['true and null', null],
    ['false and null', false],
    ['true or null', true],
    ['null is null', true],
    ['9007199254740993 + 0', '9007199254740993'],
    ['-9223372036854775808', '-9223372036854775808'],
    ['1e20 + 1.5', 1e20],
    ['1e17 * 1.0', 1e17],
    ['0.0 / 0', null],
    ['power(0, -1)', null],
    ['exp(1000)', null],
    ['sqrt(-1)', null],
    ['ln(0)', null],
    ['log10(1000)', 3],
    ['to_timestamp(1e20)', null],
    ["coalesce(null, 'x')", 'x'],
    ['greatest(1, 2.5)', 2.5],
    ['round(2.5)', 3],
    ['round(1234.5, -2)', 1200],
    ["date_diff('month', '2024-01-31', '2024-03-01')", 2],
    ["year('2024-06-01')", 2024],
    ["to_date('2024-13-01')", null],
    ["to_timestamp('not a time')", null],
    ["to_timestamp('2024-01-31T12:00:00+01:00')", '2024-01-31T11:00:00.000Z'],
    ["to_number('1e3')", 1000],
    ["to_number('12,5')", null],
    ["strftime('2024-03-04T05:06:07Z', '%d.%m.%Y %-H h %%')", '04.03.2024 5 h %'],
    ["case when 1 > 2 then 'a' end", null],
    ["trim('  a  ')", 'a'],
    ['year(null)', null],
  ])('%s = %j', async (source, expected) => {
    expect(await scalar(source)).toEqual(expected);
  });

  it('leaves overflow to IEEE 754 infinities: the engine shows them as null, comparisons see them as infinite', async () => {
    expect(await scalar('exp(1000)')).toBeNull();
    expect(await scalar('exp(1000) > 1e308 and 1e308 * 10 > 1e308')).toBe(true);
  });

  it('runs every function of the table, on columns and on null arguments', async () => {
    const sample: Record<string, string> = {
      abs: 'abs(qty)',
      round: 'round(amount, 1)',
      floor: 'floor(price)',
      ceil: 'ceil(amount)',
      sqrt: 'sqrt(qty)',
      ln: 'ln(price)',
      log10: 'log10(qty)',
      exp: 'exp(price)',
      power: 'power(price, qty)',
      least: "least(day, ts, '2024-01-01')",
      greatest: 'greatest(amount, price, qty)',
      coalesce: "coalesce(name, code, 'x')",
      nullif: 'nullif(active, true)',
      lower: 'lower(name)',
      upper: 'upper(code)',
      trim: 'trim(name)',
      length: 'length(code)',
      substr: 'substr(name, qty)',
      replace: "replace(name, 'p', code)",
      starts_with: 'starts_with(name, code)',
      ends_with: "ends_with(name, 'e')",
      contains: 'contains(code, name)',
      concat: 'concat(ts, day, qty, active, name, amount)',
      year: 'year(naive)',
      month: 'month(ts)',
      day: 'day(naive)',
      hour: 'hour(day)',
      minute: 'minute(naive)',
      second: 'second(ts)',
      date_trunc: "date_trunc('week', naive)",
      date_diff: "date_diff('quarter', ts, day)",
      now: 'now()',
      strftime: "strftime(day, '%A %B %j')",
      to_number: 'to_number(active)',
      to_text: 'to_text(amount)',
      to_boolean: 'to_boolean(code)',
      to_date: 'to_date(naive)',
      to_timestamp: 'to_timestamp(day)',
    };
    expect(Object.keys(sample).sort()).toEqual([...FUNCTIONS.keys()].sort());
    for (const [name, def] of FUNCTIONS) {
      await expect(values(sample[name] as string), name).resolves.toHaveLength(5);
      const nulls = def.args
        .slice(0, Math.max(def.min, 1))
        .map((spec) => ({ unit: "'day'", format: "'%Y'", digits: '1', value: 'null', same: 'null' })[spec.kind]);
      await expect(
        scalar(`${name}(${def.min === 0 ? '' : nulls.join(', ')})`),
        `${name} with nulls`,
      ).resolves.toBeDefined();
    }
  });

  it('filters with $name template parameters bound to their values', async () => {
    const run = async (source: string, variables: CompileOptions['variables']) => {
      const e = compileExpression(source, schema, { expect: 'boolean', variables });
      return (await engine.all(`SELECT id FROM t WHERE ${e.sql} ORDER BY id`, e.params)).map((r) => r.id);
    };
    expect(await run('qty >= $min', { min: { type: 'number', value: 5 } })).toEqual([1, 4]);
    expect(await run('ts <= $before', { before: { type: 'timestamp', value: '2024-01-01T11:00:00+01:00' } })).toEqual([
      1, 4,
    ]);
    expect(await run('day = $day', { day: { type: 'date', value: '2024-02-29' } })).toEqual([5]);
    expect(await run('name = $who', { who: { type: 'text', value: "O'Brien" } })).toEqual([2]);
    expect(await run('coalesce(name = $who, true)', { who: { type: 'text', value: null } })).toEqual([1, 2, 3, 4, 5]);
    expect(await run('active = $on', { on: { type: 'boolean', value: false } })).toEqual([2, 5]);
  });

  it('runs expressions at the node and depth limits', async () => {
    expect(await scalar(Array.from({ length: 65 }, () => '1').join(' + '))).toBe(65);
    expect(await scalar(Array.from({ length: 250 }, (_, i) => `${i} = 249`).join(' or '))).toBe(true);
    expect(await scalar(`7 in (${Array.from({ length: 998 }, (_, i) => i).join(', ')})`)).toBe(true);
    expect(await scalar(`${'abs('.repeat(63)}-1${')'.repeat(63)}`)).toBe(1);
    expect(await scalar(`${'('.repeat(64)}1${')'.repeat(64)}`)).toBe(1);
  });
});
