import { describe, expect, it } from 'vitest';
import { isId, newId } from './ids.js';

describe('newId', () => {
  it('is prefixed, 26 Crockford characters, and recognised by isId', () => {
    const id = newId('job');
    expect(id).toMatch(/^job_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isId('job', id)).toBe(true);
    expect(isId('ds', id)).toBe(false);
  });

  it('sorts in creation order within one millisecond and when the clock steps back', () => {
    const at = Date.now() + 60_000;
    const ids = [newId('job', at), newId('job', at), newId('job', at), newId('job', at - 5), newId('job', at)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // Same millisecond: the time part is shared, only the random part moves.
    expect(new Set(ids.map((id) => id.slice(4, 14))).size).toBe(1);
  });

  it('stays in order and unique across carries out of the last digits (thousands of ids in one millisecond)', () => {
    const at = Date.now() + 90_000;
    const ids = Array.from({ length: 5000 }, () => newId('req', at));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^req_[0-9A-HJKMNP-TV-Z]{26}$/.test(id) && id.slice(4, 14) === ids[0]!.slice(4, 14))).toBe(
      true,
    );
  });

  it('encodes the millisecond it is given when time moves forward', () => {
    const a = newId('ds', Date.now() + 120_000);
    const b = newId('ds', Date.now() + 180_000);
    expect(a < b).toBe(true);
    expect(a.slice(3, 13)).not.toBe(b.slice(3, 13));
  });
});
