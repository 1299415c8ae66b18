import { DEFAULT_POINTER, EXPR_LIMITS, ExprError } from './errors.js';
import { castHabit, NO_REGEX } from './sql-habits.js';

export type TokenKind = 'number' | 'text' | 'ident' | 'quoted' | 'variable' | 'keyword' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /**
   * number: the digits as written; text / quoted: the unescaped content; ident: as written;
   * variable: the name after `$`, as written; keyword: lower-cased; op: the operator (`!=` kept as written); eof: ''.
   */
  value: string;
  /** 0-based UTF-16 index of the token's first character. */
  offset: number;
  /** The source slice, for messages. */
  raw: string;
}

export const KEYWORDS: ReadonlySet<string> = new Set([
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
]);

const OPERATORS = ['||', '!=', '<>', '<=', '>=', '(', ')', ',', '+', '-', '*', '/', '%', '=', '<', '>'] as const;

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isIdentStart = (c: string | undefined) => c !== undefined && /^[A-Za-z_]$/.test(c);
const isIdentPart = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9_]$/.test(c);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** What a stray character usually meant: a typo, or the spelling of another language. */
const STRAY_HINTS: Readonly<Record<string, string>> = {
  '|': "did you mean '||'?",
  '!': "did you mean '!=' or 'not'?",
  '.': 'column names with dots must be backquoted',
  '&': "write 'and'",
  '?': 'for a choice write case when condition then a else b end',
  '[': 'a list of values is written in (a, b, …)',
  '{': 'a list of values is written in (a, b, …)',
  '~': NO_REGEX,
};

/** How a stray character is shown in a message: itself when visible, else its code point (controls, spaces, bidi and zero-width marks). */
export function showChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return /^[\p{C}\p{Z}]$/u.test(c) ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `'${c}'`;
}

/** Splits an expression into tokens, ending with one `eof` token. Enforces the length limit. */
export function tokenize(source: string, pointer = DEFAULT_POINTER): Token[] {
  const fail = (reason: string, offset: number, hint?: string): never => {
    throw new ExprError(reason, offset, pointer, hint);
  };
  if (source.length > EXPR_LIMITS.maxLength)
    fail(`expression is longer than ${EXPR_LIMITS.maxLength} characters`, EXPR_LIMITS.maxLength);
  const nul = source.indexOf('\0');
  if (nul !== -1) fail('NUL character is not allowed', nul);

  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, value: string, start: number) =>
    tokens.push({ kind, value, offset: start, raw: source.slice(start, i) });

  /** Reads a `q`-delimited run where `qq` stands for one `q`; `i` is on the opening quote. */
  const quoted = (q: string, what: string): string => {
    const start = i;
    let value = '';
    i++;
    for (;;) {
      const next = source.indexOf(q, i);
      if (next === -1) return fail(`unterminated ${what}`, start, `close it with ${q}`);
      value += source.slice(i, next);
      i = next + 1;
      if (source[i] !== q) return value;
      value += q;
      i++;
    }
  };

  while (i < source.length) {
    const c = source[i] as string;
    const start = i;
    if (isSpace(c)) {
      i++;
    } else if (isDigit(c) || (c === '.' && isDigit(source[i + 1]))) {
      while (isDigit(source[i])) i++;
      if (source[i] === '.' && isDigit(source[i + 1])) {
        i++;
        while (isDigit(source[i])) i++;
      }
      if (
        (source[i] === 'e' || source[i] === 'E') &&
        (isDigit(source[i + 1]) || ((source[i + 1] === '+' || source[i + 1] === '-') && isDigit(source[i + 2])))
      ) {
        i += 2;
        while (isDigit(source[i])) i++;
      }
      if (isIdentPart(source[i]) || source[i] === '.') fail('invalid number', start);
      push('number', source.slice(start, i), start);
    } else if (isIdentStart(c)) {
      while (isIdentPart(source[i])) i++;
      const word = source.slice(start, i);
      const lower = word.toLowerCase();
      if (KEYWORDS.has(lower)) push('keyword', lower, start);
      else push('ident', word, start);
    } else if (c === '$') {
      i++;
      if (!isIdentStart(source[i])) fail("expected a template parameter name after '$'", start, 'write it as $name');
      while (isIdentPart(source[i])) i++;
      push('variable', source.slice(start + 1, i), start);
    } else if (c === "'") {
      const value = quoted("'", 'text');
      push('text', value, start);
    } else if (c === '`') {
      const value = quoted('`', 'quoted column name');
      if (value === '') fail('empty column name', start);
      push('quoted', value, start);
    } else if (source.startsWith('--', i) || source.startsWith('/*', i)) {
      fail(
        'comments are not supported',
        start,
        c === '-' ? 'for a double minus put a space between the signs' : undefined,
      );
    } else if (c === '"') {
      fail(`unexpected '"'`, start, 'quote column names with backquotes (`name`) and text with single quotes');
    } else {
      if (source.startsWith('==', i)) fail("unexpected '=='", start, "compare with a single '='");
      if (source.startsWith('::', i)) {
        const type = /^[A-Za-z_]\w*/.exec(source.slice(i + 2).trimStart())?.[0];
        const before = tokens.at(-1);
        const operand =
          before &&
          (before.kind === 'ident' || before.kind === 'quoted' || before.kind === 'number' || before.kind === 'text')
            ? before.raw
            : undefined;
        const habit = castHabit("the '::' cast", type, operand);
        fail(habit.reason, start, habit.hint);
      }
      const op = OPERATORS.find((o) => source.startsWith(o, i));
      if (op === undefined) {
        fail(`unexpected ${showChar(String.fromCodePoint(source.codePointAt(i) ?? 0))}`, start, STRAY_HINTS[c]);
      } else {
        i += op.length;
        push('op', op, start);
      }
    }
  }
  tokens.push({ kind: 'eof', value: '', offset: source.length, raw: '' });
  return tokens;
}
