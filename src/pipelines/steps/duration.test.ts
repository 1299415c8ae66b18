import { describe, expect, it } from 'vitest';
import { parseDuration, readDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['1s', '1 seconds', false],
    ['15m', '15 minutes', false],
    ['1h', '1 hours', false],
    ['1d', '1 days', true],
    ['2w', '2 weeks', true],
    ['1mo', '1 months', true],
    ['12mo', '12 months', true],
    ['1y', '1 years', true],
    ['366d', '366 days', true],
    ['31622400s', '31622400 seconds', false],
  ])('%s → %s', (text, interval, calendar) => {
    expect(parseDuration(text)).toMatchObject({ interval, calendar });
  });

  it.each([
    '5 parsecs',
    '',
    '0s',
    '01h',
    '1.5h',
    '-1d',
    '1 d',
    '1D',
    '1ms',
    '13mo',
    '2y',
    '367d',
    '53w',
    '31622401s',
    '1d; DROP TABLE x',
    '999999999s',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('readDuration (time series buckets: the grammar without the 1-year bound)', () => {
  it('reads any length and knows the shortest it can be', () => {
    expect(readDuration('2y')).toEqual({
      amount: 2,
      unit: 'y',
      interval: '2 years',
      calendar: true,
      shortestSeconds: 2 * 365 * 86_400,
    });
    expect(readDuration('3mo')?.shortestSeconds).toBe(3 * 28 * 86_400);
    expect(readDuration('15m')?.shortestSeconds).toBe(900);
    expect(parseDuration('2y')).toBeUndefined();
    expect(readDuration('1 hour')).toBeUndefined();
    expect(readDuration('0h')).toBeUndefined();
  });
});
