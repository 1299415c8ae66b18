import { describe, expect, it } from 'vitest';
import { brushWithoutAria, withBrush } from './brush';
import { formatInstant, fromInputValue, rangeOfBrush, toInputValue } from './zoom';

describe('time series zoom', () => {
  it('reads datetime-local values as UTC and shows ISO instants back without the zone', () => {
    expect(fromInputValue('2024-01-01T10:00')).toBe('2024-01-01T10:00:00.000Z');
    expect(fromInputValue('2024-01-01T10:00:30')).toBe('2024-01-01T10:00:30.000Z');
    expect(fromInputValue('')).toBe('');
    expect(fromInputValue('not a time')).toBe('');
    expect(toInputValue('2024-01-01T10:00:30.000Z')).toBe('2024-01-01T10:00:30');
    expect(formatInstant('2024-01-01T10:00:30.000Z')).toBe('2024-01-01 10:00:30 UTC');
  });

  it('turns a brush into a range in either drag direction, and a click into none', () => {
    const a = Date.UTC(2024, 0, 1, 10);
    const b = Date.UTC(2024, 0, 1, 11);
    const range = { from: '2024-01-01T10:00:00.000Z', to: '2024-01-01T11:00:00.000Z' };
    expect(rangeOfBrush({ time: [a, b] })).toEqual(range);
    expect(rangeOfBrush({ time: [new Date(b), new Date(a)] })).toEqual(range);
    expect(rangeOfBrush({ time: [a, a] })).toBeNull();
    expect(rangeOfBrush({})).toBeNull();
    expect(rangeOfBrush(null)).toBeNull();
  });

  it('adds the interval selection to the line layer only', () => {
    const spec = { layer: [{ mark: { type: 'area' } }, { mark: { type: 'line' } }, { mark: { type: 'point' } }] };
    const layers = withBrush(spec).layer as { params?: unknown }[];
    expect(layers.map((l) => l.params !== undefined)).toEqual([false, true, false]);
    expect(withBrush({ mark: 'bar' })).toEqual({ mark: 'bar' });
  });
});

describe('brushWithoutAria', () => {
  it("hides the brush's rectangles, at any depth, and nothing else", () => {
    const vg = {
      marks: [{ name: 'layer_0', marks: [{ name: 'brush_brush_bg' }, { name: 'line' }] }, { name: 'brush_brush' }],
    };
    expect(brushWithoutAria(vg)).toEqual({
      marks: [
        { name: 'layer_0', marks: [{ name: 'brush_brush_bg', aria: false }, { name: 'line' }] },
        { name: 'brush_brush', aria: false },
      ],
    });
  });
});
