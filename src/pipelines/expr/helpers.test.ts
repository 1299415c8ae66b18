import { describe, expect, it } from 'vitest';
import { caret, ExprError } from './errors.js';
import { didYouMean, nearMatches } from './suggest.js';
import { badFormatSpecifier, temporalLiteral } from './temporal.js';

describe('temporalLiteral', () => {
  it.each([
    ['2024-01-31', 'date'],
    ['2024-02-29', 'date'],
    ['2000-02-29', 'date'],
    ['0001-01-01', 'date'],
    ['2024-01-31T12:00', 'timestamp'],
    ['2024-01-31 12:00:59', 'timestamp'],
    ['2024-01-31T12:00:00.123456789Z', 'timestamp'],
    ['2024-01-31T12:00:00+05:30', 'timestamp'],
    ['2024-01-31T12:00:00-0800', 'timestamp'],
    ['2024-01-31T12:00:00+14', 'timestamp'],
  ])('%s is a %s', (text, form) => {
    expect(temporalLiteral(text)).toBe(form);
  });

  it.each([
    '2023-02-29',
    '1900-02-29',
    '2024-04-31',
    '2024-13-01',
    '2024-00-10',
    '0000-01-01',
    '2024-1-5',
    '2024-01-31T24:00',
    '2024-01-31T12:60',
    '2024-01-31T12:00:60',
    '2024-01-31Z',
    '2024-01-31T12:00+16:00',
    '2024-01-31T12:00+05:60',
    '31/01/2024',
    'today',
    '',
    ' 2024-01-31',
    '2024-01-31T12:00:00.',
  ])('rejects %j', (text) => {
    expect(temporalLiteral(text)).toBeUndefined();
  });
});

describe('badFormatSpecifier', () => {
  it('accepts the specifiers DuckDB supports, including %- forms and %%', () => {
    expect(badFormatSpecifier('%Y-%m-%d %H:%M:%S.%f %z %Z %a %A %b %B %j %-d/%-m %-H:%-M %p %%')).toBeUndefined();
    expect(badFormatSpecifier('no specifiers at all')).toBeUndefined();
  });

  it.each([
    ['%Q', '%Q'],
    ['100%', '%'],
    ['%Y %-q', '%-q'],
    ['%-', '%-'],
    ['%e', '%e'],
    ['%%%', '%'],
  ])('%j → %j', (format, bad) => {
    expect(badFormatSpecifier(format)).toBe(bad);
  });
});

describe('nearMatches', () => {
  const names = ['name', 'price', 'unit price', 'temperature', 'qty'];

  it('ranks by edit distance, counting a swap as one edit', () => {
    expect(nearMatches('nmae', names)).toEqual(['name']);
    expect(nearMatches('PRICE', names)).toEqual(['price']);
    expect(nearMatches('unit_price', names)).toEqual(['unit price']);
    expect(nearMatches('qtty', names)).toEqual(['qty']);
  });

  it('falls back to containment, and to nothing', () => {
    expect(nearMatches('temp', names)).toEqual(['temperature']);
    expect(nearMatches('zzzz', names)).toEqual([]);
  });

  it('phrases the hint', () => {
    expect(didYouMean(['a'], (s) => `'${s}'`)).toBe("did you mean 'a'?");
    expect(didYouMean(['a', 'b', 'c'], (s) => `'${s}'`)).toBe("did you mean 'a', 'b' or 'c'?");
    expect(didYouMean([], (s) => s)).toBeUndefined();
  });
});

describe('ExprError', () => {
  it('puts the offset in the message, the errors entry and the extensions', () => {
    const e = new ExprError("unexpected ')'", 14, '/steps/0/expression', 'expected an expression');
    expect(e).toMatchObject({
      status: 400,
      code: 'validation_failed',
      title: 'Request validation failed',
      offset: 14,
      reason: "unexpected ')'",
      extensions: { offset: 14 },
    });
    expect(e.errors).toEqual([
      { pointer: '/steps/0/expression', message: "unexpected ')' at 14; expected an expression" },
    ]);
  });

  it('draws a caret under the offset, on the right line', () => {
    expect(caret('price > 10 and )', 15)).toBe('price > 10 and )\n               ^');
    expect(caret('a = 1\nand )', 10)).toBe('and )\n    ^');
    expect(caret('a +', 3)).toBe('a +\n   ^');
  });
});
