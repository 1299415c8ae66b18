import { describe, expect, it } from 'vitest';
import { compileJsonPath, JsonPathError, parseJsonPath } from './json-path.js';
import { coerceValue, inferFields, sampleOf } from './records.js';

describe('coerceValue', () => {
  it('types numbers, including the strings ThingSpeak sends', () => {
    expect(coerceValue('21.5', 'double')).toEqual({ ok: true, value: 21.5 });
    expect(coerceValue(' -3e2 ', 'double')).toEqual({ ok: true, value: -300 });
    expect(coerceValue(7, 'double')).toEqual({ ok: true, value: 7 });
    expect(coerceValue('12abc', 'double')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not a number'),
    });
    expect(coerceValue('0x10', 'double').ok).toBe(false);
    expect(coerceValue(Number.NaN, 'double').ok).toBe(false);
    expect(coerceValue(Number.POSITIVE_INFINITY, 'double').ok).toBe(false);
    expect(coerceValue('1e999', 'double').ok).toBe(false);
    expect(coerceValue(true, 'double').ok).toBe(false);
  });

  it('treats null, undefined and the empty string as a missing value, not a bad one', () => {
    for (const type of ['double', 'bigint', 'boolean', 'timestamp'] as const) {
      expect(coerceValue('', type)).toEqual({ ok: true, value: null });
      expect(coerceValue(null, type)).toEqual({ ok: true, value: null });
      expect(coerceValue(undefined, type)).toEqual({ ok: true, value: null });
    }
    expect(coerceValue('', 'varchar')).toEqual({ ok: true, value: '' });
  });

  it('keeps bigints inside the safe integer range', () => {
    expect(coerceValue('9007199254740991', 'bigint')).toEqual({ ok: true, value: 9007199254740991 });
    expect(coerceValue('9007199254740993', 'bigint')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('safe integer'),
    });
    expect(coerceValue(2 ** 60, 'bigint').ok).toBe(false);
    expect(coerceValue(1.5, 'bigint').ok).toBe(false);
    expect(coerceValue('-42', 'bigint')).toEqual({ ok: true, value: -42 });
  });

  it('reads booleans in their usual spellings', () => {
    expect(coerceValue('TRUE', 'boolean')).toEqual({ ok: true, value: true });
    expect(coerceValue(0, 'boolean')).toEqual({ ok: true, value: false });
    expect(coerceValue('no', 'boolean')).toEqual({ ok: true, value: false });
    expect(coerceValue('maybe', 'boolean').ok).toBe(false);
    expect(coerceValue(2, 'boolean').ok).toBe(false);
  });

  it('writes varchar values as text', () => {
    expect(coerceValue(12, 'varchar')).toEqual({ ok: true, value: '12' });
    expect(coerceValue({ a: 1 }, 'varchar')).toEqual({ ok: true, value: '{"a":1}' });
  });

  it('turns times into ISO 8601 in UTC, a zoneless time taken as UTC', () => {
    expect(coerceValue('2026-12-06T18:00:00Z', 'timestamp')).toEqual({ ok: true, value: '2026-12-06T18:00:00.000Z' });
    expect(coerceValue('2026-12-06T19:00:00+01:00', 'timestamp')).toEqual({
      ok: true,
      value: '2026-12-06T18:00:00.000Z',
    });
    expect(coerceValue('2026-12-06 18:00:00', 'timestamp')).toEqual({ ok: true, value: '2026-12-06T18:00:00.000Z' });
    expect(coerceValue('2026-12-06', 'timestamp')).toEqual({ ok: true, value: '2026-12-06T00:00:00.000Z' });
    expect(coerceValue(1796580000, 'timestamp', 'epoch_s')).toEqual({ ok: true, value: '2026-12-06T18:00:00.000Z' });
    expect(coerceValue('1796580000000', 'timestamp', 'epoch_ms')).toEqual({
      ok: true,
      value: '2026-12-06T18:00:00.000Z',
    });
    expect(coerceValue('yesterday', 'timestamp').ok).toBe(false);
    expect(coerceValue('2026-13-45T00:00:00Z', 'timestamp').ok).toBe(false);
    expect(coerceValue(1796580000, 'timestamp').ok).toBe(false);
    expect(coerceValue(1e20, 'timestamp', 'epoch_ms').ok).toBe(false);
    expect(coerceValue('soon', 'timestamp', 'epoch_s')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('seconds'),
    });
  });
});

describe('inferFields', () => {
  it('picks the narrowest type every value fits, in order of first appearance', () => {
    const fields = inferFields([
      { id: 1, temp: '21.5', ok: true, at: '2026-12-06T18:00:00Z', name: 'a', empty: null },
      { id: 2, temp: 22, ok: false, at: '2026-12-06T18:01:00Z', name: 3, extra: '7' },
    ]);
    expect(fields).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'temp', type: 'double' },
      { name: 'ok', type: 'boolean' },
      { name: 'at', type: 'timestamp' },
      { name: 'name', type: 'varchar' },
      { name: 'empty', type: 'varchar' },
      { name: 'extra', type: 'bigint' },
    ]);
  });
});

describe('JSON paths', () => {
  const body = { data: { items: [{ 'temp °C': 4, tags: ['x', 'y'] }] }, "it's": 1 };

  it('read dot keys, indexes and quoted keys, with or without $', () => {
    expect(compileJsonPath('$')(body)).toBe(body);
    expect(compileJsonPath('$.data.items[0]')(body)).toEqual(body.data.items[0]);
    expect(compileJsonPath("$.data.items[0]['temp °C']")(body)).toBe(4);
    expect(compileJsonPath('data.items[0].tags[1]')(body)).toBe('y');
    expect(compileJsonPath('$["it\'s"]')(body)).toBe(1);
    expect(parseJsonPath("$['a\\'b'].c")).toEqual(["a'b", 'c']);
  });

  it('give undefined for what is not there, never an inherited property', () => {
    expect(compileJsonPath('$.data.nothing.deeper')(body)).toBeUndefined();
    expect(compileJsonPath('$.data.items[5]')(body)).toBeUndefined();
    expect(compileJsonPath('$.data[0]')(body)).toBeUndefined();
    expect(compileJsonPath('$.constructor')({})).toBeUndefined();
  });

  it('refuse what they cannot parse', () => {
    expect(() => parseJsonPath('$.a[')).toThrow(JsonPathError);
    expect(() => parseJsonPath('$..a')).toThrow(JsonPathError);
    expect(() => parseJsonPath('$.a[*]')).toThrow(JsonPathError);
  });
});

describe('sampleOf', () => {
  it('keeps the first 200 characters', () => {
    expect(sampleOf('x'.repeat(500))).toHaveLength(200);
    expect(sampleOf({ a: 1 })).toBe('{"a":1}');
  });
});
