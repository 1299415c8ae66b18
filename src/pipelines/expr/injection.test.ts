/**
 * Hostile input: column names, values and expressions that would break out of naive SQL. Each is either plain
 * data (quoted identifier, bound parameter) or rejected with a precise error, and the table survives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../engine/duckdb.js';
import { ident } from '../../engine/sql.js';
import { compileExpression, ExprError, type ExprColumn } from './index.js';

const HOSTILE_NAMES = [
  '"); DROP TABLE t; --',
  'a"b',
  'x;y',
  '--c',
  '/*d*/',
  "it's",
  '名前',
  'back`tick',
  'sp ace',
  'SELECT',
];
const HOSTILE_VALUES = [
  "'; DROP TABLE t; --",
  '"); DROP TABLE t; --',
  "' OR '1'='1",
  '$1',
  '?',
  '\\',
  '/* x */',
  '-- x',
  'é😀\u202e',
];

let dir: string;
let engine: Engine;
let schema: ExprColumn[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-expr-inj-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 1, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  await engine.run(
    `CREATE TABLE t (id INTEGER, v VARCHAR, ${HOSTILE_NAMES.map((n) => `${ident(n)} VARCHAR`).join(', ')})`,
  );
  // Row i holds HOSTILE_VALUES[i] in v and the column's own name in every hostile column.
  for (const [i, value] of HOSTILE_VALUES.entries()) {
    await engine.run(`INSERT INTO t VALUES ($1, $2, ${HOSTILE_NAMES.map((_, k) => `$${k + 3}`).join(', ')})`, [
      i,
      value,
      ...HOSTILE_NAMES,
    ]);
  }
  schema = (await engine.all('DESCRIBE t')).map((row) => ({
    name: String(row.column_name),
    type: String(row.column_type),
  }));
});

afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

async function tableIsIntact(): Promise<void> {
  const [row] = await engine.all('SELECT count(*) AS n FROM t');
  expect(row?.n).toBe(HOSTILE_VALUES.length);
}

async function ids(source: string): Promise<unknown[]> {
  const e = compileExpression(source, schema, { expect: 'boolean' });
  return (await engine.all(`SELECT id FROM t WHERE ${e.sql} ORDER BY id`, e.params)).map((r) => r.id);
}

const quoteText = (s: string) => `'${s.replaceAll("'", "''")}'`;
const backquote = (s: string) => `\`${s.replaceAll('`', '``')}\``;

describe('hostile column names are quoted identifiers', () => {
  it.each(HOSTILE_NAMES)('%s', async (name) => {
    const e = compileExpression(`${backquote(name)} = ${quoteText(name)}`, schema, { expect: 'boolean' });
    expect(e.sql).toBe(`(${ident(name)} = CAST($1 AS VARCHAR))`);
    expect(e.columns).toEqual([name]);
    expect(await ids(`${backquote(name)} = ${quoteText(name)}`)).toEqual(HOSTILE_VALUES.map((_, i) => i));
    await tableIsIntact();
  });

  it('rejects an unknown hostile name without echoing it into SQL', () => {
    expect(() => compileExpression('`"); DROP TABLE u; --` = 1', schema)).toThrow(ExprError);
    expect(() => compileExpression('`"); DROP TABLE u; --` = 1', schema)).toThrow(
      `unknown column '"); DROP TABLE u; --' at 0`,
    );
  });
});

describe('hostile values are bound parameters', () => {
  it.each(HOSTILE_VALUES.map((v, i) => [v, i] as const))('%s', async (value, i) => {
    const e = compileExpression(`v = ${quoteText(value)}`, schema);
    expect(e.sql).toBe('("v" = CAST($1 AS VARCHAR))');
    expect(e.params).toEqual([value]);
    expect(await ids(`v = ${quoteText(value)}`)).toEqual([i]);
    expect(
      await ids(`v like ${quoteText(`%${value}%`)} or v in (${quoteText(value)}) or contains(v, ${quoteText(value)})`),
    ).toContain(i);
    await tableIsIntact();
  });

  it('keeps the SQL text free of every literal', () => {
    const e = compileExpression(
      `v = ${quoteText("x'); DROP TABLE t; --")} or ${backquote('x;y')} like 'DROP%' or strftime(now(), '%Y DROP') = 'DROP'`,
      schema,
    );
    expect(e.sql).not.toMatch(/DROP|--|'x/);
    expect(e.params).toEqual(["x'); DROP TABLE t; --", 'DROP%', '%Y DROP', 'DROP']);
  });
});

describe('hostile expressions are rejected precisely', () => {
  it.each([
    ["v = 'x'; DROP TABLE t; --", "unexpected ';' at 7"],
    ["v = 'x' -- and more", 'comments are not supported at 8'],
    ["v = 'x' /* comment */", 'comments are not supported at 8'],
    ["v /**/= 'x'", 'comments are not supported at 2'],
    ['v = "x"', `unexpected '"' at 4`],
    ["v = 'x') OR (1 = 1", "unexpected ')' at 7"],
    ["v = 'x' union select 1", "unexpected 'union' at 8"],
    ['drop table t', "unexpected 'table' at 5"],
    ["v = 'x' or 1=1; --", "unexpected ';' at 14"],
    ["read_csv('/etc/passwd') is null", "unknown function 'read_csv' at 0"],
    ["getenv('HOME') = 'x'", "unknown function 'getenv' at 0"],
    ["query('DROP TABLE t') is null", "unknown function 'query' at 0"],
    ["current_setting('threads') = 1", "unknown function 'current_setting' at 0"],
    ['v = $1', "expected a template parameter name after '$' at 4"],
    ['v = $getenv', "unknown parameter '$getenv' at 4"],
    ['v = ?', "unexpected '?' at 4"],
    ['v::INTEGER = 1', "the '::' cast is not supported at 1; write round(to_number(v)) instead"],
    ["v = 'a' \u202e", 'unexpected U+202E at 8'],
    ["v = 'a\0'", 'NUL character is not allowed at 6'],
    ["v = 'unterminated", 'unterminated text at 4'],
    ['`v = 1', 'unterminated quoted column name at 0'],
    ["v = E'\\x27'", "unexpected text '\\x27' at 5"],
  ])('%j → %s', async (source, message) => {
    let caught: unknown;
    try {
      compileExpression(source, schema, { expect: 'boolean' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ExprError);
    expect((caught as ExprError).errors[0]?.message.startsWith(message)).toBe(true);
    await tableIsIntact();
  });

  it('parses `--` inside text and names as plain data', async () => {
    expect(await ids("v = '-- x' or `--c` = '--c' and id = 0")).toEqual([0, 7]);
    await tableIsIntact();
  });
});
