import { describe, expect, it } from 'vitest';
import { AnswerCache } from './cache.js';

describe('AnswerCache', () => {
  it('keys by version, endpoint and parameters in any order, ignoring absent ones', () => {
    expect(AnswerCache.key('dv_1', 'timeseries', { time: 't', value: 'v', bucket: undefined })).toBe(
      AnswerCache.key('dv_1', 'timeseries', { value: 'v', time: 't' }),
    );
    expect(AnswerCache.key('dv_1', 'timeseries', { time: 't' })).not.toBe(
      AnswerCache.key('dv_2', 'timeseries', { time: 't' }),
    );
    expect(AnswerCache.key('dv_1', 'histogram', { column: 'a' })).not.toBe(
      AnswerCache.key('dv_1', 'value-counts', { column: 'a' }),
    );
    expect(AnswerCache.key('dv_1', 'histogram', { column: 'a', bins: 10 })).not.toBe(
      AnswerCache.key('dv_1', 'histogram', { column: 'a', bins: 11 }),
    );
  });

  it('drops the least recently used answer past the entry limit', () => {
    const cache = new AnswerCache({ maxEntries: 2, maxBytes: 1_000_000 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size.entries).toBe(2);
  });

  it('keeps the total size within its byte budget and refuses answers over an eighth of it', () => {
    const cache = new AnswerCache({ maxEntries: 100, maxBytes: 800 });
    cache.set('huge', 'x'.repeat(200));
    expect(cache.get('huge')).toBeUndefined();
    for (let i = 0; i < 20; i++) cache.set(`k${i}`, 'x'.repeat(90));
    expect(cache.size.bytes).toBeLessThanOrEqual(800);
    expect(cache.get('k19')).toBe('x'.repeat(90));
    expect(cache.get('k0')).toBeUndefined();
    const before = cache.size;
    cache.set('k19', 'y');
    // Replacing an answer counts its new size only.
    expect(cache.size).toEqual({
      entries: before.entries,
      bytes: before.bytes - JSON.stringify('x'.repeat(90)).length + JSON.stringify('y').length,
    });
    expect(cache.get('k19')).toBe('y');
  });
});
