/**
 * What people who know SQL (or spreadsheets) write that this language spells differently, each with the spelling
 * to use instead. The lexer, the parser and the compiler consult it where they would otherwise say only
 * "unexpected 'AS'" or "unknown function". Only constructs the language has an equivalent for are listed.
 */
import { FUNCTIONS } from './functions.js';

/** The conversion functions, from the function table so the hints never name one that does not exist. */
export const CONVERSIONS: readonly string[] = [...FUNCTIONS.keys()].filter((name) => name.startsWith('to_'));

const conversionList = () => `the conversion functions are ${CONVERSIONS.map((f) => `${f}()`).join(', ')}`;

/** SQL type names (DuckDB, PostgreSQL, MySQL, SQLite spellings) → the conversion function to that kind of value. */
const CONVERSION_FOR_TYPE: ReadonlyMap<string, string> = new Map([
  ...[
    'int',
    'integer',
    'int2',
    'int4',
    'int8',
    'bigint',
    'smallint',
    'tinyint',
    'hugeint',
    'ubigint',
    'uinteger',
    'double',
    'float',
    'float4',
    'float8',
    'real',
    'decimal',
    'numeric',
    'number',
    'signed',
    'unsigned',
  ].map((t) => [t, 'to_number'] as const),
  ...['varchar', 'text', 'string', 'char', 'nvarchar', 'bpchar'].map((t) => [t, 'to_text'] as const),
  ...['boolean', 'bool', 'logical'].map((t) => [t, 'to_boolean'] as const),
  ['date', 'to_date'],
  ...['timestamp', 'timestamptz', 'datetime'].map((t) => [t, 'to_timestamp'] as const),
]);

const WHOLE_NUMBER_TYPES = new Set([
  'int',
  'integer',
  'int2',
  'int4',
  'int8',
  'bigint',
  'smallint',
  'tinyint',
  'hugeint',
  'ubigint',
  'uinteger',
  'signed',
  'unsigned',
]);

/** A refusal: what is not supported and what to write instead. */
export interface Habit {
  reason: string;
  hint: string;
}

/**
 * `CAST(x AS type)`, `TRY_CAST(…)`, `x::type`: the conversion function for `type` applied to `operand` (the
 * operand's source text, when known), else the list of conversions.
 */
export function castHabit(what: string, typeName: string | undefined, operand: string | undefined): Habit {
  const type = typeName?.toLowerCase();
  const conversion = type === undefined ? undefined : CONVERSION_FOR_TYPE.get(type);
  if (conversion === undefined)
    return { reason: `${what} is not supported`, hint: `convert values with a function: ${conversionList()}` };
  const call = `${conversion}(${operand !== undefined && operand.length <= 40 ? operand : '…'})`;
  // CAST to an integer type rounds; to_number keeps the fraction.
  const rewrite = type !== undefined && WHOLE_NUMBER_TYPES.has(type) ? `round(${call})` : call;
  return { reason: `${what} is not supported`, hint: `write ${rewrite} instead; ${conversionList()}` };
}

const TIME_PARTS = 'year(t), month(t), day(t), hour(t), minute(t) or second(t)';
const AGGREGATE = 'aggregates work on groups of rows: use the aggregate step; an expression sees one row at a time';
export const NO_REGEX =
  "there are no regular expressions: use like or ilike ('%' any text, '_' one character), contains(), starts_with() or ends_with()";

/**
 * Functions of SQL dialects and spreadsheets that are spelt differently here (none of them is a function here:
 * a test checks). Keyed by lower-case name.
 */
const FOREIGN_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['if', 'write case when condition then a else b end'],
  ['iif', 'write case when condition then a else b end'],
  ['ifnull', 'write coalesce(x, fallback)'],
  ['nvl', 'write coalesce(x, fallback)'],
  ['isnull', 'write x is null, or coalesce(x, fallback) for a fallback'],
  ['len', 'write length(s)'],
  ['char_length', 'write length(s)'],
  ['character_length', 'write length(s)'],
  ['substring', 'write substr(s, start, length)'],
  ['left', 'write substr(s, 1, n)'],
  ['lcase', 'write lower(s)'],
  ['ucase', 'write upper(s)'],
  ['ltrim', 'write trim(s) (it trims both ends)'],
  ['rtrim', 'write trim(s) (it trims both ends)'],
  ['btrim', 'write trim(s)'],
  ['pow', 'write power(x, y)'],
  ['ceiling', 'write ceil(x)'],
  ['log', 'write ln(x) for the natural logarithm, or log10(x)'],
  ['mod', 'write x % y'],
  ['trunc', 'write floor(x) or ceil(x) for numbers, date_trunc(unit, t) for times'],
  ['truncate', 'write floor(x) or ceil(x) for numbers, date_trunc(unit, t) for times'],
  ['extract', `write ${TIME_PARTS}`],
  ['date_part', `write ${TIME_PARTS}`],
  ['datepart', `write ${TIME_PARTS}`],
  ['datediff', 'write date_diff(unit, start, end)'],
  ['timestampdiff', 'write date_diff(unit, start, end)'],
  ['getdate', 'write now()'],
  ['sysdate', 'write now()'],
  ['current_timestamp', 'write now()'],
  ['today', 'write to_date(now())'],
  ['to_char', 'write strftime(t, format) for times, to_text(x) otherwise'],
  ['date_format', 'write strftime(t, format)'],
  ['regexp_matches', NO_REGEX],
  ['regexp_like', NO_REGEX],
  ['rlike', NO_REGEX],
  ['count', AGGREGATE],
  ['sum', AGGREGATE],
  ['avg', AGGREGATE],
  ['mean', AGGREGATE],
  ['median', AGGREGATE],
  ['stddev', AGGREGATE],
  ['min', `${AGGREGATE}; the smaller of values in a row is least(a, b, …)`],
  ['max', `${AGGREGATE}; the larger of values in a row is greatest(a, b, …)`],
]);

/** Type-named "functions" (`int(x)`, `to_integer(x)`) and SQL's converting calls: answered with the conversion. */
const CONVERTING_CALLS = new Set([
  'cast',
  'try_cast',
  'convert',
  'to_int',
  'to_integer',
  'to_double',
  'to_float',
  'to_varchar',
  'to_string',
  'str',
  ...CONVERSION_FOR_TYPE.keys(),
]);

/** The refusal of a call to `name(…)` that is not a function here, when another dialect has it; `operand`: its first argument's text. */
export function callHabit(name: string, castType: string | undefined, operand: string | undefined): Habit | undefined {
  const lower = name.toLowerCase();
  if (FUNCTIONS.has(lower)) return undefined;
  if (lower === 'cast' || lower === 'try_cast') return castHabit(name.toUpperCase(), castType, operand);
  if (CONVERTING_CALLS.has(lower)) {
    const target = lower.replace(/^to_/, '');
    return castHabit(`${lower}()`, CONVERSION_FOR_TYPE.has(target) ? target : undefined, operand);
  }
  const hint = FOREIGN_FUNCTIONS.get(lower);
  return hint === undefined ? undefined : { reason: `${lower}() is not supported`, hint };
}

/** Names this module answers for as calls (none of them is a function of the language: a test checks). */
export const FOREIGN_CALL_NAMES: readonly string[] = [...FOREIGN_FUNCTIONS.keys(), ...CONVERTING_CALLS];

/** Cheap first check before a call's tokens are read ahead for callHabit. */
export function isForeignCall(name: string): boolean {
  const lower = name.toLowerCase();
  return CONVERTING_CALLS.has(lower) || FOREIGN_FUNCTIONS.has(lower);
}

/** SQL words that end up where an operator was expected (`x AS y`, `x ISNULL`, `s REGEXP 'a'`), keyed by lower case. */
const FOREIGN_WORDS: ReadonlyMap<string, string> = new Map([
  ['as', 'an expression has no alias: the step names the column it writes (derive: `column`)'],
  ['isnull', 'write x is null'],
  ['notnull', 'write x is not null'],
  ['regexp', NO_REGEX],
  ['rlike', NO_REGEX],
  ['similar', NO_REGEX],
  ['glob', "use like ('%' any text, '_' one character)"],
  ['escape', "like has no escape character; contains(), starts_with() and ends_with() match '%' and '_' literally"],
]);

/** Typed literals (`DATE '2024-01-31'`, `TIMESTAMP '…'`, `INTERVAL '1 day'`), by the word before the literal. */
const TYPED_LITERALS: ReadonlyMap<string, (literal: string) => string> = new Map([
  ['date', (l: string) => `write to_date(${l}), or compare a date column with the text ${l} directly`],
  ['timestamp', (l: string) => `write to_timestamp(${l}), or compare a timestamp column with the text ${l} directly`],
  ['timestamptz', (l: string) => `write to_timestamp(${l})`],
  [
    'interval',
    () =>
      "there are no intervals: compare date_diff(unit, start, end) with a number, e.g. date_diff('day', t, now()) <= 7",
  ],
]);

/** A typed literal such as `DATE '2024-01-31'`: `word` is the identifier before the literal, `literal` its source text. */
export function typedLiteralHabit(word: string, literal: { raw: string; text: boolean }): Habit | undefined {
  const lower = word.toLowerCase();
  const hint = TYPED_LITERALS.get(lower);
  // INTERVAL 1 DAY has a number; the others only ever a text.
  if (hint === undefined || (!literal.text && lower !== 'interval')) return undefined;
  return { reason: `${word.toUpperCase()} literals are not supported`, hint: hint(literal.raw) };
}

/** The hint for an identifier where an operator or the end was expected (`x AS y`, `x ISNULL`, `s REGEXP 'a'`). */
export function wordHint(word: string): string | undefined {
  return FOREIGN_WORDS.get(word.toLowerCase());
}

/** Identifiers SQL reads as values without parentheses; here they would name columns. */
const FOREIGN_VALUES: ReadonlyMap<string, string> = new Map([
  ['current_timestamp', 'write now()'],
  ['current_date', 'write to_date(now())'],
  ['localtimestamp', 'write now()'],
  ['sysdate', 'write now()'],
]);

/** The hint for an unknown column that is a SQL value such as CURRENT_TIMESTAMP. */
export function valueHint(name: string): string | undefined {
  return FOREIGN_VALUES.get(name.toLowerCase());
}
