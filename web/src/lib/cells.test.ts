import { describe, expect, it } from 'vitest';
import { cellKind, formatCell } from './cells';

describe('typed cells', () => {
  it('reads DuckDB type names', () => {
    expect(cellKind('BIGINT')).toBe('number');
    expect(cellKind('DECIMAL(18,3)')).toBe('number');
    expect(cellKind('DOUBLE')).toBe('number');
    expect(cellKind('BOOLEAN')).toBe('boolean');
    expect(cellKind('TIMESTAMP WITH TIME ZONE')).toBe('time');
    expect(cellKind('DATE')).toBe('time');
    expect(cellKind('VARCHAR')).toBe('text');
    expect(cellKind('STRUCT(a INTEGER)')).toBe('text');
  });

  it('formats values as text: markup stays text, nulls empty, objects as JSON', () => {
    expect(formatCell('<img src=x onerror=alert(1)>', 'text')).toBe('<img src=x onerror=alert(1)>');
    expect(formatCell(null, 'number')).toBe('');
    expect(formatCell({ a: 1 }, 'text')).toBe('{"a":1}');
    expect(formatCell('2026-11-01T00:00:00.000Z', 'time')).toBe('2026-11-01 00:00:00Z');
    expect(formatCell(true, 'boolean')).toBe('true');
  });
});
