import { describe, expect, it } from 'vitest';
import { ExprError } from './errors.js';
import { compileExpression, type CompileOptions, type ExprColumn } from './index.js';

const columns: ExprColumn[] = [
  { name: 'name', type: 'VARCHAR' },
  { name: 'price', type: 'DOUBLE' },
  { name: 'qty', type: 'BIGINT' },
  { name: 'amount', type: 'DECIMAL(10,2)' },
  { name: 'active', type: 'BOOLEAN' },
  { name: 'ts', type: 'TIMESTAMP WITH TIME ZONE' },
  { name: 'naive', type: 'TIMESTAMP' },
  { name: 'day', type: 'DATE' },
  { name: 'unit price', type: 'DOUBLE' },
  { name: 'Category', type: 'VARCHAR' },
  { name: 'payload', type: 'STRUCT(a INTEGER)' },
];

const c = (source: string, options?: CompileOptions) => compileExpression(source, columns, options);

function messageOf(source: string, options?: CompileOptions): string {
  try {
    c(source, options);
  } catch (e) {
    if (e instanceof ExprError) return e.errors[0]?.message ?? '';
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(source)} to be rejected`);
}

describe('compileExpression: SQL and parameters', () => {
  it.each([
    ['price * 2 > 10', '(("price" * CAST($1 AS BIGINT)) > CAST($2 AS BIGINT))', [2, 10], 'boolean'],
    ['price / 2.5', '("price" / NULLIF(CAST($1 AS DOUBLE), 0))', [2.5], 'number'],
    ['1e20 * 1.5', '(CAST($1 AS DOUBLE) * CAST($2 AS DOUBLE))', ['100000000000000000000', 1.5], 'number'],
    ['-qty % 3', '((- "qty") % NULLIF(CAST($1 AS BIGINT), 0))', [3], 'number'],
    ['qty - -1', '("qty" - CAST($1 AS BIGINT))', [-1], 'number'],
    ['- - qty', '(- (- "qty"))', [], 'number'],
    ["name || '!'", '("name" || CAST($1 AS VARCHAR))', ['!'], 'text'],
    ["name = 'O''Brien'", '("name" = CAST($1 AS VARCHAR))', ["O'Brien"], 'boolean'],
    ['active and not (qty is null)', '("active" AND (NOT ("qty" IS NULL)))', [], 'boolean'],
    [
      'active = true or active is not null',
      '(("active" = CAST($1 AS BOOLEAN)) OR ("active" IS NOT NULL))',
      [true],
      'boolean',
    ],
    ['qty in (1, 2, null)', '("qty" IN (CAST($1 AS BIGINT), CAST($2 AS BIGINT), NULL))', [1, 2], 'boolean'],
    ["name not in ('a')", '("name" NOT IN (CAST($1 AS VARCHAR)))', ['a'], 'boolean'],
    ['qty between 1 and 5', '("qty" BETWEEN CAST($1 AS BIGINT) AND CAST($2 AS BIGINT))', [1, 5], 'boolean'],
    ['qty not between 1 and 5', '("qty" NOT BETWEEN CAST($1 AS BIGINT) AND CAST($2 AS BIGINT))', [1, 5], 'boolean'],
    ["name like 'a%'", '("name" LIKE CAST($1 AS VARCHAR))', ['a%'], 'boolean'],
    ["name not ilike 'a%'", '("name" NOT ILIKE CAST($1 AS VARCHAR))', ['a%'], 'boolean'],
    [
      "case when qty > 5 then 'many' when qty > 0 then 'some' else 'none' end",
      '(CASE WHEN ("qty" > CAST($1 AS BIGINT)) THEN CAST($2 AS VARCHAR) WHEN ("qty" > CAST($3 AS BIGINT)) THEN CAST($4 AS VARCHAR) ELSE CAST($5 AS VARCHAR) END)',
      [5, 'many', 0, 'some', 'none'],
      'text',
    ],
    ['case when active then qty end', '(CASE WHEN "active" THEN "qty" END)', [], 'number'],
    ['`unit price` * qty', '("unit price" * "qty")', [], 'number'],
    ['null', 'NULL', [], 'null'],
    ['9007199254740993', 'CAST($1 AS BIGINT)', [9007199254740993n], 'number'],
    ['payload is null', '("payload" IS NULL)', [], 'boolean'],
  ])('%s', (source, sql, params, type) => {
    expect(c(source)).toMatchObject({ sql, params, type });
  });

  it('compiles calls from the function table', () => {
    expect(c('round(price, 2) + abs(qty) + coalesce(amount, 0)')).toMatchObject({
      sql: '((round("price", CAST($1 AS INTEGER)) + abs("qty")) + coalesce("amount", CAST($2 AS BIGINT)))',
      params: [2, 0],
    });
    expect(c('sqrt(price)').sql).toBe('try(sqrt("price"))');
    expect(c('substr(name, 2, 3)').sql).toBe(
      'substr("name", TRY_CAST(CAST($1 AS BIGINT) AS BIGINT), TRY_CAST(CAST($2 AS BIGINT) AS BIGINT))',
    );
    expect(c("date_trunc('DAY', ts)")).toMatchObject({
      sql: 'date_trunc(CAST($1 AS VARCHAR), "ts")',
      params: ['day'],
      type: 'timestamp',
    });
    expect(c("date_diff('hour', naive, ts)")).toMatchObject({
      sql: 'date_diff(CAST($1 AS VARCHAR), "naive", "ts")',
      params: ['hour'],
      type: 'number',
    });
    expect(c("strftime(ts, '%Y-%m')")).toMatchObject({
      sql: 'strftime("ts", CAST($1 AS VARCHAR))',
      params: ['%Y-%m'],
      type: 'text',
    });
    expect(c('to_text(ts)').sql).toBe(`strftime("ts", '%Y-%m-%dT%H:%M:%S.%gZ')`);
    expect(c('to_text(day)').sql).toBe(`strftime("day", '%Y-%m-%d')`);
    expect(c('to_text(qty)').sql).toBe('CAST("qty" AS VARCHAR)');
    expect(c('to_number(name)').sql).toBe('TRY_CAST("name" AS DOUBLE)');
    expect(c('to_number(qty)').sql).toBe('"qty"');
    expect(c('to_timestamp(qty)')).toMatchObject({
      sql: 'try(to_timestamp(CAST("qty" AS DOUBLE)))',
      type: 'timestamp',
    });
    expect(c('to_timestamp(name)').sql).toBe('TRY_CAST("name" AS TIMESTAMPTZ)');
    expect(c('to_date(name)')).toMatchObject({ sql: 'TRY_CAST("name" AS DATE)', type: 'date' });
    expect(c('now()')).toMatchObject({ sql: 'now()', type: 'timestamp' });
    expect(c("concat(name, ' ', day)").sql).toBe(`concat("name", CAST($1 AS VARCHAR), strftime("day", '%Y-%m-%d'))`);
  });

  it('gives a null argument the type the function expects, so DuckDB can pick an overload', () => {
    expect(c('year(null)').sql).toBe('year(CAST(NULL AS TIMESTAMPTZ))');
    expect(c('to_timestamp(null)').sql).toBe('try(to_timestamp(CAST(CAST(NULL AS DOUBLE) AS DOUBLE)))');
    expect(c('coalesce(null, null)')).toMatchObject({ sql: 'coalesce(NULL, NULL)', type: 'null' });
  });

  it('reads text compared with dates and timestamps as ISO 8601, cast to the right type', () => {
    expect(c("ts >= '2024-01-01' and ts < '2024-01-02T00:00:00Z'").sql).toBe(
      '(("ts" >= CAST($1 AS TIMESTAMPTZ)) AND ("ts" < CAST($2 AS TIMESTAMPTZ)))',
    );
    expect(c("day = '2024-02-29'").sql).toBe('("day" = CAST($1 AS DATE))');
    expect(c("day < '2024-02-29 12:00'").sql).toBe('("day" < CAST($1 AS TIMESTAMPTZ))');
    expect(c("'2024-01-01' <= naive").sql).toBe('(CAST($1 AS TIMESTAMPTZ) <= "naive")');
    expect(c("ts between '2024-01-01' and '2024-02-01'").params).toEqual(['2024-01-01', '2024-02-01']);
    expect(c("day in ('2024-01-01', '2024-01-02')").sql).toBe('("day" IN (CAST($1 AS DATE), CAST($2 AS DATE)))');
    expect(c("coalesce(day, '2024-01-01')")).toMatchObject({ sql: 'coalesce("day", CAST($1 AS DATE))', type: 'date' });
    expect(c("case when active then ts else '2024-01-01' end").type).toBe('timestamp');
    expect(c("year('2024-06-01')").sql).toBe('year(CAST($1 AS DATE))');
    expect(c("date_diff('day', day, '2024-03-01T00:00:00+02:00')").sql).toBe(
      'date_diff(CAST($1 AS VARCHAR), "day", CAST($2 AS TIMESTAMPTZ))',
    );
    expect(messageOf("ts > '2024-13-01'")).toBe(
      "invalid timestamp '2024-13-01' at 5; write it as ISO 8601, such as '2024-01-31' or '2024-01-31T12:00:00Z'",
    );
    expect(messageOf("day = '2023-02-29'")).toContain("invalid date '2023-02-29' at 6");
    expect(messageOf("ts > 'yesterday'")).toContain('at 5');
  });

  it('matches columns exactly, then ignoring case; lists referenced columns once, in order', () => {
    expect(c('category = Name or CATEGORY is null or name is null')).toMatchObject({
      sql: '((("Category" = "name") OR ("Category" IS NULL)) OR ("name" IS NULL))',
      columns: ['Category', 'name'],
    });
  });

  it('numbers parameters after paramOffset', () => {
    expect(c("qty > 1 and name = 'x'", { paramOffset: 3 })).toMatchObject({
      sql: '(("qty" > CAST($4 AS BIGINT)) AND ("name" = CAST($5 AS VARCHAR)))',
      params: [1, 'x'],
    });
  });

  it('binds $name template parameters as typed placeholders, a null value as a typed NULL', () => {
    const variables = {
      limit: { type: 'number', value: 2.5 },
      who: { type: 'text', value: "x'); DROP TABLE t; --" },
      since: { type: 'timestamp', value: '2024-03-31T01:30:00+01:00' },
      day0: { type: 'date', value: null },
      on: { type: 'boolean', value: true },
    } as const;
    expect(
      c('price > $limit and name = $who and ts >= $since and (day = $day0 or active = $on)', {
        variables,
        paramOffset: 2,
      }),
    ).toMatchObject({
      sql: '(((("price" > CAST($3 AS DOUBLE)) AND ("name" = CAST($4 AS VARCHAR))) AND ("ts" >= CAST($5 AS TIMESTAMPTZ))) AND (("day" = CAST(NULL AS DATE)) OR ("active" = CAST($6 AS BOOLEAN))))',
      params: [2.5, "x'); DROP TABLE t; --", '2024-03-31T01:30:00+01:00', true],
      type: 'boolean',
      columns: ['price', 'name', 'ts', 'day', 'active'],
    });
    expect(c('$limit', { variables }).type).toBe('number');
    expect(c('$day0', { variables })).toMatchObject({ sql: 'CAST(NULL AS DATE)', params: [], type: 'date' });
  });

  it('type checks $name by its declared type and refuses unknown or ill-typed parameters', () => {
    const variables = {
      threshold: { type: 'number', value: 1 },
      label: { type: 'text', value: 'a' },
      since: { type: 'date', value: '31.01.2024' },
    } as const;
    expect(messageOf('price > $treshold', { variables })).toBe(
      "unknown parameter '$treshold' at 8; did you mean '$threshold'?",
    );
    expect(messageOf('price > $x')).toBe("unknown parameter '$x' at 8; no template parameters are declared");
    expect(messageOf('price > $zzz', { variables })).toBe("unknown parameter '$zzz' at 8");
    expect(messageOf('price > $label', { variables })).toBe('cannot compare a number with text at 6');
    expect(messageOf('day > $since', { variables })).toBe("parameter '$since' is not a date at 6");
    expect(
      messageOf('$threshold', {
        variables: { threshold: { type: 'number', value: 'NaN' } },
        pointer: '/steps/1/expression',
      }),
    ).toBe("parameter '$threshold' is not a number at 0");
  });

  it('accepts columns of types the language has no operators for, deferring to DuckDB', () => {
    expect(c('payload').type).toBe('any');
    expect(c('to_text(payload)').type).toBe('text');
  });
});

describe('compileExpression: type errors', () => {
  it.each([
    ['name + 1', "'+' expects a number, but this is text at 0; join text with || or concat()"],
    ['qty * active', "'*' expects a number, but this is true/false at 6"],
    ['ts - naive', "'-' expects a number, but this is a timestamp at 0; use date_diff(unit, start, end)"],
    ['- name', "'-' expects a number, but this is text at 2"],
    ['qty and active', "'and' expects true/false, but this is a number at 0"],
    ['active or 1', "'or' expects true/false, but this is a number at 10"],
    ['not qty', "'not' expects true/false, but this is a number at 4"],
    ['name = 1', 'cannot compare text with a number at 5'],
    ['1 = name', 'cannot compare a number with text at 2'],
    ['active < qty', 'cannot compare true/false with a number at 7'],
    ["qty in (1, 'a')", 'cannot compare a number with text at 11'],
    ["qty between 1 and 'z'", 'cannot compare a number with text at 18'],
    ['ts = 1', 'cannot compare a timestamp with a number at 3'],
    ['qty || name', "'||' expects text, but this is a number at 0; convert it with to_text() or use concat()"],
    ["qty like '1%'", "'like' expects text, but this is a number at 0"],
    ['name not ilike 1', "'not ilike' expects text, but this is a number at 15"],
    ['case when qty then 1 end', "'when' expects true/false, but this is a number at 10"],
    [
      "case when active then 1 else 'x' end",
      'case results must share one type, but this one is text and an earlier one is a number at 29',
    ],
    ['lower(qty)', 'argument 1 of lower() expects text, but this is a number at 6; usage: lower(s)'],
    ['year(name)', 'argument 1 of year() expects a timestamp or a date, but this is text at 5; usage: year(t)'],
    [
      "coalesce(qty, 'none')",
      'arguments of coalesce() must share one type, but this one is text and an earlier one is a number at 14',
    ],
    [
      'greatest(day, 3)',
      'arguments of greatest() must share one type, but this one is a number and an earlier one is a date at 14',
    ],
  ])('%s → %s', (source, message) => {
    expect(messageOf(source)).toBe(message);
  });

  it('checks arity, unit and format literals and round digits', () => {
    expect(messageOf('abs(1, 2)')).toBe('abs() takes 1 argument, got 2 at 0; usage: abs(x)');
    expect(messageOf('round()')).toBe('round() takes 1 or 2 arguments, got 0 at 0; usage: round(x[, digits])');
    expect(messageOf('substr(name)')).toBe(
      'substr() takes 2 or 3 arguments, got 1 at 0; usage: substr(s, start[, length])',
    );
    expect(messageOf('coalesce()')).toBe('coalesce() takes at least 1 argument, got 0 at 0; usage: coalesce(a, b, …)');
    expect(messageOf('now(1)')).toBe('now() takes 0 arguments, got 1 at 0; usage: now()');
    expect(messageOf("date_trunc('days', ts)")).toBe(
      "argument 1 of date_trunc() must be one of 'year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second', 'millisecond' at 11",
    );
    expect(messageOf('date_trunc(name, ts)')).toBe(
      'argument 1 of date_trunc() must be a unit written as text in quotes at 11; usage: date_trunc(unit, t)',
    );
    expect(messageOf("strftime(ts, '%Y %Q')")).toBe(
      "argument 2 of strftime() uses '%Q', which strftime does not support at 13; use specifiers such as %Y %m %d %H %M %S, and %% for '%'",
    );
    expect(messageOf("strftime(ts, '100%')")).toContain("uses '%'");
    expect(messageOf('strftime(ts, name)')).toContain('must be a strftime format written as text in quotes at 13');
    expect(messageOf('round(price, qty)')).toBe(
      'argument 2 of round() must be a whole number from -38 to 38 written as a literal at 13; usage: round(x[, digits])',
    );
    expect(messageOf('round(price, 1.5)')).toContain('at 13');
    expect(messageOf('round(price, 39)')).toContain('at 13');
    expect(c('round(price, -2)').params).toEqual([-2]);
  });

  it('names unknown columns and functions with close matches', () => {
    expect(messageOf('nmae = 1')).toBe("unknown column 'nmae' at 0; did you mean 'name'?");
    expect(messageOf('`unit prices` > 1')).toBe("unknown column 'unit prices' at 0; did you mean `unit price`?");
    expect(messageOf('unit_price > 1')).toBe("unknown column 'unit_price' at 0; did you mean `unit price`?");
    expect(messageOf('pric + qtty')).toBe("unknown column 'pric' at 0; did you mean 'price'?");
    expect(messageOf('zzz')).toBe("unknown column 'zzz' at 0");
    expect(messageOf('now')).toBe("unknown column 'now' at 0; to call the function write now(…)");
    expect(messageOf('lenght(name)')).toBe("unknown function 'lenght' at 0; did you mean 'length'?");
    expect(messageOf('qty + uper(name)')).toContain("unknown function 'uper' at 6; did you mean 'upper'?");
    expect(messageOf('read_csv(name)')).toMatch(
      /^unknown function 'read_csv' at 0; the functions are abs, round, .*to_timestamp$/,
    );
    expect(messageOf('constructor(1)')).toContain("unknown function 'constructor' at 0");
    expect(messageOf('__proto__(1)')).toContain("unknown function '__proto__' at 0");
    expect(() => compileExpression('x', [])).toThrow("unknown column 'x' at 0; the data has no columns");
  });

  it('reports an ambiguous case-insensitive match, and prefers an exact one', () => {
    const schema = [
      { name: 'bx', type: 'INTEGER' },
      { name: 'BX', type: 'INTEGER' },
    ];
    expect(compileExpression('BX', schema).sql).toBe('"BX"');
    expect(() => compileExpression('Bx', schema)).toThrow(
      "column 'Bx' is ambiguous at 0; it matches 'bx' and 'BX' ignoring case",
    );
  });

  it('requires a condition when asked, and carries the pointer', () => {
    expect(c('active', { expect: 'boolean' }).type).toBe('boolean');
    expect(c('payload', { expect: 'boolean' }).type).toBe('any');
    expect(messageOf('qty + 1', { expect: 'boolean' })).toBe(
      'expected a condition (true/false), but the expression is a number at 0',
    );
    expect(messageOf('null', { expect: 'boolean' })).toContain('but the expression is null at 0');
    try {
      c('nmae', { pointer: '/steps/2/expression' });
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      expect((e as ExprError).errors).toEqual([
        { pointer: '/steps/2/expression', message: "unknown column 'nmae' at 0; did you mean 'name'?" },
      ]);
      expect((e as ExprError).status).toBe(400);
    }
  });
});
