import { describe, expect, it } from 'vitest';
import type { Expr } from './ast.js';
import { ExprError } from './errors.js';
import { parseExpression } from './parser.js';

/** The tree as an S-expression, for precedence and associativity checks. */
function s(node: Expr): string {
  switch (node.kind) {
    case 'number':
      return typeof node.value === 'bigint' ? `${node.value}n` : node.integer ? String(node.value) : `${node.value}d`;
    case 'text':
      return `'${node.value.replaceAll("'", "''")}'`;
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
    case 'column':
      return /^\w+$/.test(node.name) ? node.name : `\`${node.name}\``;
    case 'variable':
      return `$${node.name}`;
    case 'unary':
      return `(${node.op} ${s(node.operand)})`;
    case 'binary':
      return `(${node.op} ${s(node.left)} ${s(node.right)})`;
    case 'isNull':
      return `(${node.negated ? 'is-not-null' : 'is-null'} ${s(node.operand)})`;
    case 'in':
      return `(${node.negated ? 'not-in' : 'in'} ${[node.operand, ...node.items].map(s).join(' ')})`;
    case 'between':
      return `(${node.negated ? 'not-between' : 'between'} ${s(node.operand)} ${s(node.low)} ${s(node.high)})`;
    case 'like':
      return `(${node.negated ? 'not-' : ''}${node.caseInsensitive ? 'ilike' : 'like'} ${s(node.operand)} ${s(node.pattern)})`;
    case 'case':
      return `(case ${node.whens.map((w) => `(when ${s(w.when)} ${s(w.then)})`).join(' ')}${node.else ? ` (else ${s(node.else)})` : ''})`;
    case 'call':
      return `${node.name}(${node.args.map(s).join(' ')})`;
  }
}

const p = (source: string) => s(parseExpression(source));

function errorOf(source: string): ExprError {
  try {
    parseExpression(source, { pointer: '/steps/2/expression' });
  } catch (e) {
    if (e instanceof ExprError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(source)} to be rejected`);
}

describe('parseExpression: literals and names', () => {
  it.each([
    ['42', '42'],
    ['4.5', '4.5d'],
    ['1e3', '1000d'],
    ['2.5E-1', '0.25d'],
    ['.5', '0.5d'],
    ['-7', '-7'],
    ['9007199254740993', '9007199254740993n'],
    ['-9223372036854775808', '-9223372036854775808n'],
    ['9223372036854775808', '9223372036854776000d'],
    ["'it''s'", "'it''s'"],
    ['TRUE', 'true'],
    ['false', 'false'],
    ['Null', 'null'],
    ['price', 'price'],
    ['`unit price`', '`unit price`'],
    ['`a``b`', '`a`b`'],
    ['`select`', 'select'],
    ['select', 'select'],
    ['`a.b`', '`a.b`'],
    ['$limit', '$limit'],
    ['-$x * 2', '(* (- $x) 2)'],
    ['$Case', '$Case'],
  ])('%s → %s', (source, tree) => {
    expect(p(source)).toBe(tree);
  });

  it('keeps offsets of every node', () => {
    const tree = parseExpression("  a + `b c` * 'x'");
    expect(tree).toMatchObject({
      kind: 'binary',
      op: '+',
      offset: 2,
      opOffset: 4,
      left: { offset: 2 },
      right: { kind: 'binary', offset: 6, opOffset: 12, right: { offset: 14 } },
    });
    expect(parseExpression('x - -3')).toMatchObject({ right: { kind: 'number', value: -3, offset: 4 } });
  });
});

describe('parseExpression: precedence and associativity', () => {
  it.each([
    ['1 + 2 * 3', '(+ 1 (* 2 3))'],
    ['1 * 2 + 3', '(+ (* 1 2) 3)'],
    ['(1 + 2) * 3', '(* (+ 1 2) 3)'],
    ['10 - 2 - 3', '(- (- 10 2) 3)'],
    ['100 / 10 / 5', '(/ (/ 100 10) 5)'],
    ['2 * 3 % 4', '(% (* 2 3) 4)'],
    ['a - -b', '(- a (- b))'],
    ['- a * b', '(* (- a) b)'],
    ['- - a', '(- (- a))'],
    ['-(1)', '(- 1)'],
    ["a || b || 'c'", "(|| (|| a b) 'c')"],
    ['a || 1 + 2', '(|| a (+ 1 2))'],
    ['a + 1 = b * 2', '(= (+ a 1) (* b 2))'],
    ['a != b', '(<> a b)'],
    ['a <> b', '(<> a b)'],
    ['a or b and c', '(or a (and b c))'],
    ['a and b or c', '(or (and a b) c)'],
    ['a or b or c', '(or (or a b) c)'],
    ['a and b and c', '(and (and a b) c)'],
    ['not a and b', '(and (not a) b)'],
    ['not a = b', '(not (= a b))'],
    ['not not a', '(not (not a))'],
    ['not a is null', '(not (is-null a))'],
    ['a = b is null', '(is-null (= a b))'],
    ['a is null is not null', '(is-not-null (is-null a))'],
    ['a is not null and b', '(and (is-not-null a) b)'],
    ['a = b like c', '(= a (like b c))'],
    ["a || 'x' like 'y%'", "(like (|| a 'x') 'y%')"],
    ['x between 1 and 2 and y', '(and (between x 1 2) y)'],
    ['x between a + 1 and b * 2', '(between x (+ a 1) (* b 2))'],
    ['x not between 1 and 2', '(not-between x 1 2)'],
    ['x in (1, 2 + 3, y)', '(in x 1 (+ 2 3) y)'],
    ['x not in (1)', '(not-in x 1)'],
    ['x in (a or b)', '(in x (or a b))'],
    ["a like 'x%'", "(like a 'x%')"],
    ["a ILIKE 'x%'", "(ilike a 'x%')"],
    ["a not like 'x%'", "(not-like a 'x%')"],
    ["a not ilike 'x%'", "(not-ilike a 'x%')"],
    ['(a < b) = true', '(= (< a b) true)'],
  ])('%s → %s', (source, tree) => {
    expect(p(source)).toBe(tree);
  });

  it('parses case, with and without else, nested', () => {
    expect(p("case when a > 1 then 'x' when a > 0 then 'y' else 'z' end")).toBe(
      "(case (when (> a 1) 'x') (when (> a 0) 'y') (else 'z'))",
    );
    expect(p('CASE WHEN a THEN 1 END')).toBe('(case (when a 1))');
    expect(p('case when case when a then b end then 1 else case when c then 2 end end + 1')).toBe(
      '(+ (case (when (case (when a b)) 1) (else (case (when c 2)))) 1)',
    );
  });

  it('parses function calls: no arguments, many, nested, case-insensitive names', () => {
    expect(p('now()')).toBe('now()');
    expect(p('ROUND(x, 2)')).toBe('round(x 2)');
    expect(p("coalesce(lower(name), 'n/a') || upper(`b`)")).toBe("(|| coalesce(lower(name) 'n/a') upper(b))");
    expect(p("date_trunc('day', ts) = x")).toBe("(= date_trunc('day' ts) x)");
    expect(parseExpression('f(a)')).toMatchObject({ kind: 'call', name: 'f', offset: 0, args: [{ offset: 2 }] });
  });
});

describe('parseExpression: errors', () => {
  it.each([
    ['', 'unexpected end of expression at 0; expected an expression'],
    ['   ', 'unexpected end of expression at 3; expected an expression'],
    ['(a + b))', "unexpected ')' at 7; expected an operator or the end of the expression"],
    ['price > 10 and )', "unexpected ')' at 15; expected an expression"],
    ['(a + b', "unexpected end of expression at 6; expected ')'"],
    ['a +', 'unexpected end of expression at 3; expected an expression'],
    ['a b', "unexpected 'b' at 2; expected an operator or the end of the expression"],
    ["a 'x'", "unexpected text 'x' at 2"],
    ['a 1', 'unexpected number 1 at 2'],
    ['a `b`', "unexpected column 'b' at 2"],
    ['a < b < c', "comparisons cannot be chained at 6; combine them with 'and'"],
    ['a = b = c', 'comparisons cannot be chained at 6'],
    ['a is b', "unexpected 'b' at 5; expected 'null'"],
    ['a is not 1', "unexpected number 1 at 9; expected 'null'"],
    ['a not b', "unexpected 'b' at 6; expected 'in', 'between', 'like' or 'ilike' after 'not'"],
    ['a in 1', "unexpected number 1 at 5; expected '(' after 'in'"],
    ['a in ()', "unexpected ')' at 6; expected an expression"],
    ['a in (1, 2', "unexpected end of expression at 10; expected ',' or ')'"],
    ['a between 1', "unexpected end of expression at 11; expected 'and'"],
    ['a between 1 or 2', "unexpected 'or' at 12; expected 'and'"],
    ["a like 'x' like 'y'", "unexpected 'like' at 11"],
    ['case a when 1 then 2 end', "unexpected 'a' at 5; expected 'when'"],
    ['case when a then 1', "unexpected end of expression at 18; expected 'end'"],
    ['case when a 1 end', "unexpected number 1 at 12; expected 'then'"],
    ['case end', "unexpected 'end' at 5; expected 'when'"],
    ['f(1,)', "unexpected ')' at 4; expected an expression"],
    ['f(1 2)', "unexpected number 2 at 4; expected ',' or ')'"],
    ['`a b`(1)', "unexpected '(' at 5"],
    ['a = not b', "unexpected 'not' at 4; expected an expression"],
    ['+1', "unexpected '+' at 0; expected an expression"],
    ['1e999', 'number out of range at 0'],
    ['and', "unexpected 'and' at 0; expected an expression"],
    ['x = 1; DROP TABLE t', "unexpected ';' at 5"],
  ])('%j → %s', (source, message) => {
    const error = errorOf(source);
    expect(error.errors[0]?.message.startsWith(message)).toBe(true);
    expect(error.offset).toBe(Number(/ at (\d+)/.exec(message)?.[1]));
  });

  it('is a 400 validation_failed AppError with the caller’s pointer', () => {
    const error = errorOf('a +');
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', offset: 3, extensions: { offset: 3 } });
    expect(error.errors).toEqual([
      { pointer: '/steps/2/expression', message: 'unexpected end of expression at 3; expected an expression' },
    ]);
    expect(error.message).toBe('Invalid expression: unexpected end of expression at 3; expected an expression');
  });
});

describe('parseExpression: limits', () => {
  const nest = (n: number, open: string, close: string, inner = 'x') => `${open.repeat(n)}${inner}${close.repeat(n)}`;

  it('allows 64 levels of nesting and rejects the 65th where it starts', () => {
    expect(() => parseExpression(nest(64, '(', ')'))).not.toThrow();
    expect(errorOf(nest(65, '(', ')'))).toMatchObject({
      offset: 64,
      reason: 'expression is nested deeper than 64 levels',
    });
    expect(() => parseExpression(nest(64, 'abs(', ')'))).not.toThrow();
    expect(errorOf(nest(65, 'abs(', ')')).offset).toBe(256);
    expect(errorOf(nest(65, 'not ', '')).offset).toBe(256);
    expect(errorOf(nest(65, '- ', '')).offset).toBe(128);
    expect(errorOf(nest(65, 'case when true then ', ' end')).offset).toBe(64 * 20);
    expect(errorOf(nest(65, 'x in (', ')')).offset).toBe(64 * 6 + 2);
  });

  it('counts each operator of an arithmetic or || chain as a level, and a chain of and / or as one', () => {
    const chain = (terms: number, op: string) => Array.from({ length: terms }, () => 'a').join(op);
    expect(() => parseExpression(chain(65, '+'))).not.toThrow(); // 64 operators
    expect(errorOf(chain(66, '+'))).toMatchObject({
      offset: 129,
      reason: 'expression is nested deeper than 64 levels',
    }); // the 65th '+'
    expect(errorOf(chain(66, '||')).offset).toBe(65 * 3 - 2);
    expect(() => parseExpression(`${'abs('.repeat(9)}${chain(56, '+')}${')'.repeat(9)}`)).not.toThrow(); // 9 calls + 55 operators
    expect(errorOf(`x * ${'abs('.repeat(10)}${chain(56, '+')}${')'.repeat(10)}`).offset).toBe(4); // the outermost call is the 65th level
    expect(() => parseExpression(Array.from({ length: 200 }, (_, i) => `a = ${i}`).join(' or '))).not.toThrow();
    expect(() =>
      parseExpression(Array.from({ length: 120 }, (_, i) => `a <> ${i} and (b or c)`).join(' and ')),
    ).not.toThrow();
    // x and y or x and y or …: each and-pair is one level under one flat or-chain.
    expect(() => parseExpression(Array.from({ length: 100 }, () => 'x and y').join(' or '))).not.toThrow();
  });

  it('allows 1,000 nodes and rejects the 1,001st', () => {
    const list = (items: number) => `x in (${Array.from({ length: items }, (_, i) => i).join(', ')})`;
    expect(() => parseExpression(list(998))).not.toThrow(); // x + 998 items + in
    expect(errorOf(list(999)).reason).toBe('expression is too complex (more than 1000 nodes)');
    const ors = (n: number) => Array.from({ length: n }, (_, i) => `a = ${i}`).join(' or ');
    expect(() => parseExpression(ors(250))).not.toThrow(); // 250 × 3 + 249 = 999
    expect(errorOf(ors(251)).reason).toBe('expression is too complex (more than 1000 nodes)');
  });

  it('keeps long left-deep chains iterative (no stack overflow before the node limit)', () => {
    expect(() => parseExpression(Array.from({ length: 500 }, (_, i) => `c${i}`).join(' or '))).not.toThrow();
  });
});
