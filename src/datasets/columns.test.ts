import { describe, expect, it } from 'vitest';
import { rejection } from '../test-support.js';
import { checkColumnCount, checkColumnNames, rowGroupRows } from './columns.js';

describe('checkColumnCount', () => {
  it('allows up to the cap and names the count and the cap over it', () => {
    expect(() => checkColumnCount(200, 200)).not.toThrow();
    const e = rejection(() => checkColumnCount(100_000, 200));
    expect(e).toMatchObject({ status: 422, code: 'too_many_columns' });
    expect(e.message).toContain('100000 columns; a dataset may have at most 200 (WEIR_MAX_COLUMNS)');
  });
});

describe('checkColumnNames', () => {
  it('refuses C0 controls and DEL, showing the character escaped', () => {
    for (const [name, code] of [
      ['a\u0000b', '0000'],
      ['tab\there', '0009'],
      ['two\nlines', '000A'],
      ['esc\u001b[31m', '001B'],
      ['del\u007f', '007F'],
    ] as const) {
      const e = rejection(() => checkColumnNames(['fine', name]));
      expect(e).toMatchObject({ status: 422, code: 'invalid_column_name' });
      expect(e.message).toContain(`U+${code}`);
      expect(e.message).toContain(JSON.stringify(name));
    }
  });

  it('accepts any other text, and points at the header line when given one', () => {
    expect(() => checkColumnNames(['Temperatur °C', 'naïve', '価格', 'a b', '"quoted"', '=formula'])).not.toThrow();
    expect(rejection(() => checkColumnNames(['a\u0001'], { line: 1 })).errors[0]).toMatchObject({
      pointer: 'line 1',
      line: 1,
    });
  });

  it('shortens a very long name in the message', () => {
    const e = rejection(() => checkColumnNames([`${'x'.repeat(10_000)}\u0000`]));
    expect(e.message.length).toBeLessThan(400);
  });
});

describe('rowGroupRows', () => {
  it("keeps DuckDB's default up to 64 columns and shrinks in whole vectors for wider files", () => {
    expect(rowGroupRows(1)).toBe(122_880);
    expect(rowGroupRows(64)).toBe(122_880);
    expect(rowGroupRows(200)).toBe(38_912);
    expect(rowGroupRows(1000)).toBe(6144);
    expect(rowGroupRows(100_000)).toBe(2048);
    for (const n of [65, 200, 333, 1000, 5000]) expect(rowGroupRows(n) % 2048).toBe(0);
  });
});
