import { describe, expect, it } from 'vitest';
import { ExprError } from './errors.js';
import { tokenize } from './lexer.js';

const kinds = (source: string) => tokenize(source).map((t) => `${t.kind}:${t.value}`);

/** The ExprError `fn` throws. */
function errorOf(fn: () => unknown): ExprError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ExprError) return e;
    throw e;
  }
  throw new Error('expected an ExprError');
}

describe('tokenize', () => {
  it('reads numbers: integers, decimals, exponents, leading dot', () => {
    expect(kinds('1 23 4.5 6e7 8.9E-10 1e+2 .5')).toEqual([
      'number:1',
      'number:23',
      'number:4.5',
      'number:6e7',
      'number:8.9E-10',
      'number:1e+2',
      'number:.5',
      'eof:',
    ]);
  });

  it('reads text with doubled quotes, keeping everything else verbatim', () => {
    const [t] = tokenize("'it''s -- not /* a */ comment; \"x\" `y`'");
    expect(t).toMatchObject({ kind: 'text', value: 'it\'s -- not /* a */ comment; "x" `y`', offset: 0 });
    expect(tokenize("''")[0]).toMatchObject({ kind: 'text', value: '' });
  });

  it('reads backquoted names with doubled backquotes, and bare names', () => {
    expect(tokenize('`unit price` `a``b` `名前` _x9')).toMatchObject([
      { kind: 'quoted', value: 'unit price', offset: 0 },
      { kind: 'quoted', value: 'a`b', offset: 13 },
      { kind: 'quoted', value: '名前', offset: 20 },
      { kind: 'ident', value: '_x9', offset: 25 },
      { kind: 'eof', offset: 28 },
    ]);
  });

  it('lower-cases keywords and keeps identifiers as written', () => {
    expect(kinds('AND Or nOt IS NULL True FALSE In BETWEEN Like ILIKE Case When Then Else End Price')).toEqual([
      ...[
        'and',
        'or',
        'not',
        'is',
        'null',
        'true',
        'false',
        'in',
        'between',
        'like',
        'ilike',
        'case',
        'when',
        'then',
        'else',
        'end',
      ].map((k) => `keyword:${k}`),
      'ident:Price',
      'eof:',
    ]);
  });

  it('reads every operator, longest first', () => {
    expect(kinds('( ) , + - * / % || = != <> < <= > >=')).toEqual(
      ['(', ')', ',', '+', '-', '*', '/', '%', '||', '=', '!=', '<>', '<', '<=', '>', '>=']
        .map((o) => `op:${o}`)
        .concat('eof:'),
    );
    expect(kinds('a<=b')).toEqual(['ident:a', 'op:<=', 'ident:b', 'eof:']);
  });

  it.each([
    ["'abc", 'unterminated text at 0'],
    ["x = 'it''s", 'unterminated text at 4'],
    ['`abc', 'unterminated quoted column name at 0'],
    ['``', 'empty column name at 0'],
    ['a -- comment', 'comments are not supported at 2'],
    ['a /* comment */', 'comments are not supported at 2'],
    ['"name" = 1', `unexpected '"' at 0`],
    ['a; b', "unexpected ';' at 1"],
    ['a | b', "unexpected '|' at 2"],
    ['!a', "unexpected '!' at 0"],
    ['a.b', "unexpected '.' at 1"],
    ['a\u00a0= 1', 'unexpected U+00A0 at 1'],
    ['a\u200b= 1', 'unexpected U+200B at 1'],
    ['x = 😀', "unexpected '😀' at 4"],
    ["'a\0b'", 'NUL character is not allowed at 2'],
    ['12abc', 'invalid number at 0'],
    ['1.2.3', 'invalid number at 0'],
    ['1e', 'invalid number at 0'],
    ['x + 1.', 'invalid number at 4'],
  ])('rejects %j: %s', (source, message) => {
    expect(errorOf(() => tokenize(source)).errors[0]?.message).toContain(message);
  });

  it('reads $name as a template parameter, keywords included, and refuses a bare $', () => {
    expect(kinds('$threshold >= $end_1')).toEqual(['variable:threshold', 'op:>=', 'variable:end_1', 'eof:']);
    expect(tokenize('a + $x')[2]).toEqual({ kind: 'variable', value: 'x', offset: 4, raw: '$x' });
    expect(errorOf(() => tokenize('a > $1')).errors[0]?.message).toBe(
      "expected a template parameter name after '$' at 4; write it as $name",
    );
    expect(errorOf(() => tokenize('$')).errors[0]?.message).toBe(
      "expected a template parameter name after '$' at 0; write it as $name",
    );
  });

  it('gives precise hints', () => {
    expect(errorOf(() => tokenize('a -- b')).errors[0]?.message).toBe(
      'comments are not supported at 2; for a double minus put a space between the signs',
    );
    expect(errorOf(() => tokenize('"a"')).errors[0]?.message).toBe(
      `unexpected '"' at 0; quote column names with backquotes (\`name\`) and text with single quotes`,
    );
    expect(errorOf(() => tokenize('a | b')).errors[0]?.message).toBe("unexpected '|' at 2; did you mean '||'?");
  });

  it('accepts 10,000 characters and rejects 10,001 at offset 10000', () => {
    const ok = `'${'a'.repeat(9_998)}'`;
    expect(tokenize(ok)[0]?.value).toHaveLength(9_998);
    const error = errorOf(() => tokenize(`${ok} `));
    expect(error.offset).toBe(10_000);
    expect(error.message).toContain('expression is longer than 10000 characters at 10000');
  });
});
