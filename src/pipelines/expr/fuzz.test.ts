/**
 * Seeded random inputs: token soup must fail only with ExprError (never a TypeError or a stack overflow), and
 * whatever compiles must be SQL DuckDB accepts and runs over the fixture rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../engine/duckdb.js';
import { compileExpression, ExprError, FUNCTIONS, type ExprColumn } from './index.js';

const columns: ExprColumn[] = [
  { name: 'n', type: 'DOUBLE' },
  { name: 's', type: 'VARCHAR' },
  { name: 'b', type: 'BOOLEAN' },
  { name: 't', type: 'TIMESTAMPTZ' },
  { name: 'd', type: 'DATE' },
];

const FRAGMENTS = [
  'n',
  's',
  'b',
  't',
  'd',
  '`n`',
  '1',
  '2.5',
  '0',
  '-',
  '+',
  '*',
  '/',
  '%',
  '||',
  '=',
  '<>',
  '<',
  '>=',
  '(',
  ')',
  ',',
  'and',
  'or',
  'not',
  'is',
  'null',
  'true',
  'in',
  'between',
  'like',
  'case',
  'when',
  'then',
  'else',
  'end',
  "'x'",
  "'2024-01-01'",
  'abs(',
  'coalesce(',
  'lower(',
  "date_trunc('day',",
  'year(',
  'to_text(',
  'concat(',
  'nullif(',
  'least(',
  ';',
  '--',
  '"',
  '`',
  "'",
  '$1',
  '?',
  'é',
  '\u0000',
];

/** Mulberry32: a small deterministic generator, so failures reproduce. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function soup(next: () => number): string {
  const length = 1 + Math.floor(next() * 12);
  return Array.from({ length }, () => FRAGMENTS[Math.floor(next() * FRAGMENTS.length)]).join(next() < 0.8 ? ' ' : '');
}

/** A syntactically valid expression, built from the grammar; many are ill-typed, which is fine. */
function grammar(next: () => number, depth: number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const sub = () => `(${grammar(next, depth - 1)})`;
  if (depth <= 0 || next() < 0.25) {
    return pick([
      'n',
      's',
      'b',
      't',
      'd',
      '`n`',
      '0',
      '3',
      '-2',
      '2.5',
      '1e3',
      "'a''b'",
      "''",
      "'2024-01-01'",
      "'2024-01-01T12:00:00Z'",
      'true',
      'false',
      'null',
    ]);
  }
  switch (Math.floor(next() * 10)) {
    case 0:
      return `${pick(['-', 'not '])}${sub()}`;
    case 1:
      return `${sub()} ${pick(['+', '-', '*', '/', '%', '||'])} ${sub()}`;
    case 2:
      return `${sub()} ${pick(['=', '!=', '<', '<=', '>', '>='])} ${sub()}`;
    case 3:
      return `${sub()} ${pick(['and', 'or'])} ${sub()}`;
    case 4:
      return `${sub()} is ${pick(['', 'not '])}null`;
    case 5:
      return `${sub()} ${pick(['in', 'not in'])} (${sub()}, ${sub()})`;
    case 6:
      return `${sub()} ${pick(['between', 'not between'])} ${sub()} and ${sub()}`;
    case 7:
      return `${sub()} ${pick(['like', 'ilike', 'not like'])} ${sub()}`;
    case 8:
      return `case when ${sub()} then ${sub()}${pick(['', ` else ${sub()}`])} end`;
    default: {
      const [name, def] = pick([...FUNCTIONS]);
      const args = def.args
        .slice(0, def.min + Math.floor(next() * 2))
        .map((spec) =>
          spec.kind === 'unit' ? "'day'" : spec.kind === 'format' ? "'%Y-%m'" : spec.kind === 'digits' ? '1' : sub(),
        );
      return `${name}(${args.join(', ')})`;
    }
  }
}

let dir: string;
let engine: Engine;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-expr-fuzz-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 1, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  await engine.run('CREATE TABLE f (n DOUBLE, s VARCHAR, b BOOLEAN, t TIMESTAMPTZ, d DATE)');
  await engine.run(
    "INSERT INTO f VALUES (1.5, 'a''b', true, '2024-01-01 10:00:00+00', '2024-01-01'), (NULL, NULL, NULL, NULL, NULL), (0, '', false, '1970-01-01 00:00:00+00', '1970-01-01')",
  );
});

afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('fuzz', () => {
  it('rejects token soup only with ExprError, and runs everything that compiles', async () => {
    const next = random(20_240_131);
    let compiled = 0;
    for (let i = 0; i < 3_000; i++) {
      const source = soup(next);
      let sql: { sql: string; params: unknown[] } | undefined;
      try {
        sql = compileExpression(source, columns);
      } catch (e) {
        if (!(e instanceof ExprError)) throw new Error(`${JSON.stringify(source)} threw ${String(e)}`);
        expect(e.offset, source).toBeGreaterThanOrEqual(0);
        expect(e.offset, source).toBeLessThanOrEqual(source.length);
        continue;
      }
      compiled++;
      await expect(engine.all(`SELECT ${sql.sql} AS x FROM f`, sql.params as never), source).resolves.toHaveLength(3);
    }
    expect(compiled).toBeGreaterThan(20);
  });

  it('runs every grammar-built expression that type-checks', async () => {
    const next = random(7);
    let compiled = 0;
    for (let i = 0; i < 2_000; i++) {
      const source = grammar(next, 4);
      let sql: { sql: string; params: unknown[] } | undefined;
      try {
        sql = compileExpression(`(${source})`, columns);
      } catch (e) {
        if (!(e instanceof ExprError) || e.reason.startsWith('unexpected'))
          throw new Error(`${JSON.stringify(source)} threw ${String(e)}`);
        continue;
      }
      compiled++;
      await expect(engine.all(`SELECT ${sql.sql} AS x FROM f`, sql.params as never), source).resolves.toHaveLength(3);
    }
    expect(compiled).toBeGreaterThan(300);
  });

  it('survives the limits on every construct', () => {
    for (const [open, close] of [
      ['(', ')'],
      ['abs(', ')'],
      ['not ', ''],
      ['- ', ''],
      ['case when b then ', ' end'],
      ['n in (', ')'],
    ]) {
      const source = `${(open as string).repeat(5_000)}n${(close as string).repeat(5_000)}`.slice(0, 10_000);
      expect(() => compileExpression(source, columns)).toThrow(ExprError);
    }
  });
});
