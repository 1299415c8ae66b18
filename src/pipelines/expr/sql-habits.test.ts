import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from './functions.js';
import { compileExpression, ExprError } from './index.js';
import { CONVERSIONS, FOREIGN_CALL_NAMES } from './sql-habits.js';

/** SQL spellings the language writes differently: each refusal says what to write instead, at the right offset. */
const columns = [
  { name: 'temperature', type: 'DOUBLE' },
  { name: 'name', type: 'VARCHAR' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'ok', type: 'BOOLEAN' },
];

function refusal(source: string): string {
  try {
    compileExpression(source, columns);
  } catch (e) {
    if (e instanceof ExprError) return e.errors[0]!.message;
    throw e;
  }
  throw new Error(`${source} compiled`);
}

const CONVERSION_LIST = 'the conversion functions are to_number(), to_text(), to_boolean(), to_date(), to_timestamp()';

describe('SQL habits', () => {
  it('reads the conversion functions from the function table', () => {
    expect(CONVERSIONS).toEqual(['to_number', 'to_text', 'to_boolean', 'to_date', 'to_timestamp']);
  });

  it('answers CAST, TRY_CAST and :: with the conversion function for the type', () => {
    expect(refusal('CAST(temperature AS INT)')).toBe(
      `CAST is not supported at 0; write round(to_number(temperature)) instead; ${CONVERSION_LIST}`,
    );
    expect(refusal('cast(name as double) > 1')).toBe(
      `CAST is not supported at 0; write to_number(name) instead; ${CONVERSION_LIST}`,
    );
    expect(refusal("name = 'x' or TRY_CAST(ts AS VARCHAR(10)) = ''")).toBe(
      `TRY_CAST is not supported at 14; write to_text(ts) instead; ${CONVERSION_LIST}`,
    );
    expect(refusal('CAST(ts AS DATE)')).toMatch(/^CAST is not supported at 0; write to_date\(ts\) instead/);
    expect(refusal('CAST(name AS BLOB)')).toBe(
      `CAST is not supported at 0; convert values with a function: ${CONVERSION_LIST}`,
    );
    expect(refusal('temperature::int')).toBe(
      `the '::' cast is not supported at 11; write round(to_number(temperature)) instead; ${CONVERSION_LIST}`,
    );
    expect(refusal('(temperature + 1) :: text')).toMatch(
      /^the '::' cast is not supported at 18; write to_text\(…\) instead/,
    );
    expect(refusal('to_int(name)')).toMatch(
      /^to_int\(\) is not supported at 0; write round\(to_number\(name\)\) instead/,
    );
    expect(refusal('date(ts)')).toMatch(/^date\(\) is not supported at 0; write to_date\(ts\) instead/);
  });

  it('answers functions of other dialects with their spelling here', () => {
    expect(refusal("IF(temperature > 1, 'a', 'b')")).toBe(
      'if() is not supported at 0; write case when condition then a else b end',
    );
    expect(refusal('ifnull(temperature, 0) > 1')).toBe('ifnull() is not supported at 0; write coalesce(x, fallback)');
    expect(refusal('EXTRACT(year FROM ts) = 2024')).toMatch(
      /^extract\(\) is not supported at 0; write year\(t\), month\(t\)/,
    );
    expect(refusal('SUBSTRING(name FROM 1 FOR 2)')).toBe(
      'substring() is not supported at 0; write substr(s, start, length)',
    );
    expect(refusal('count(*) > 1')).toMatch(
      /^count\(\) is not supported at 0; aggregates work on groups of rows: use the aggregate step/,
    );
    expect(refusal('max(temperature, 1)')).toMatch(/greatest\(a, b, …\)$/);
    expect(refusal('len(name)')).toBe('len() is not supported at 0; write length(s)');
  });

  it('answers SQL words and operators where an operator was expected', () => {
    expect(refusal('temperature == 1')).toBe("unexpected '==' at 12; compare with a single '='");
    expect(refusal('temperature > 1 && ok')).toBe("unexpected '&' at 16; write 'and'");
    expect(refusal('ok || true')).toBe(
      "'||' expects text, but this is true/false at 0; for a logical or write 'or'; '||' joins text",
    );
    expect(refusal('temperature AS t')).toMatch(/^unexpected 'AS' at 12; an expression has no alias/);
    expect(refusal('temperature ISNULL')).toBe("unexpected 'ISNULL' at 12; write x is null");
    expect(refusal('temperature NOT NULL')).toBe("unexpected 'NULL' at 16; write 'is not null'");
    expect(refusal('ok IS TRUE')).toBe(
      "unexpected 'TRUE' at 6; 'is' tests only for null: compare with = true or = false",
    );
    expect(refusal("name REGEXP '^a'")).toMatch(
      /^unexpected 'REGEXP' at 5; there are no regular expressions: use like or ilike/,
    );
    expect(refusal("name ~ '^a'")).toMatch(/^unexpected '~' at 5; there are no regular expressions/);
    expect(refusal('temperature in [1, 2]')).toBe("unexpected '[' at 15; a list of values is written in (a, b, …)");
    expect(refusal("ok ? 'a' : 'b'")).toBe(
      "unexpected '?' at 3; for a choice write case when condition then a else b end",
    );
    expect(refusal("CASE temperature WHEN 1 THEN 'a' END")).toMatch(
      /^unexpected 'temperature' at 5; expected 'when': write each test out in full, as in case when x = 1/,
    );
  });

  it('answers typed literals and SQL values', () => {
    expect(refusal("ts > TIMESTAMP '2024-01-01'")).toBe(
      "TIMESTAMP literals are not supported at 5; write to_timestamp('2024-01-01'), or compare a timestamp column with the text '2024-01-01' directly",
    );
    expect(refusal("DATE '2024-01-01'")).toMatch(
      /^DATE literals are not supported at 0; write to_date\('2024-01-01'\)/,
    );
    expect(refusal("ts > now() - INTERVAL '1 day'")).toMatch(
      /^INTERVAL literals are not supported at 13; there are no intervals: compare date_diff\(unit, start, end\)/,
    );
    expect(refusal('ts > now() - INTERVAL 1 DAY')).toMatch(/^INTERVAL literals are not supported at 13/);
    expect(refusal('ts < CURRENT_TIMESTAMP')).toBe("unknown column 'CURRENT_TIMESTAMP' at 5; write now()");
  });

  it('never shadows the language: none of the names is a function, and columns named like SQL words still work', () => {
    expect(FOREIGN_CALL_NAMES.filter((name) => FUNCTIONS.has(name))).toEqual([]);
    const sqlNamed = [
      { name: 'current_timestamp', type: 'TIMESTAMP' },
      { name: 'date', type: 'DATE' },
      { name: 'as', type: 'INTEGER' },
    ];
    expect(
      compileExpression("current_timestamp > '2024-01-01' and date = '2024-01-02' and `as` > 1", sqlNamed).type,
    ).toBe('boolean');
    expect(
      compileExpression(
        "case when temperature between 1 and 2 and name like 'a%' and temperature in (1, 2) then to_number(name) end",
        columns,
      ).type,
    ).toBe('number');
  });
});
