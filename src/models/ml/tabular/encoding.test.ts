import { describe, expect, it } from 'vitest';
import { encodedColumns, encodeRows, encodeValue, fitEncoders, type RawFeature } from './encoding.js';

describe('feature encoding', () => {
  const features: RawFeature[] = [
    { name: 'n', kind: 'numeric', values: Float64Array.from([1, NaN, 3, 10, NaN]) },
    { name: 'c', kind: 'categorical', values: ['b', 'a', 'b', null, 'z'] },
    { name: 't', kind: 'time', values: Float64Array.from([Date.UTC(2024, 1, 29, 13), NaN, NaN, 0, 0]) },
  ];

  it('fits on the training rows only: median, frequency codes, calendar medians', () => {
    const encoders = fitEncoders(features, 3);
    expect(encoders).toEqual([
      { kind: 'numeric', name: 'n', median: 2, missingIndicator: true },
      { kind: 'categorical', name: 'c', categories: ['b', 'a'] },
      { kind: 'time', name: 't', medians: [2024, 2, 29, 4, 13], missingIndicator: true },
    ]);
    expect(encodedColumns(encoders).map((c) => c.name)).toEqual([
      'n',
      'n:missing',
      'c',
      't:year',
      't:month',
      't:day',
      't:weekday',
      't:hour',
      't:missing',
    ]);
  });

  it('encodes missing values with the train statistics and unseen or missing categories with one extra code', () => {
    const encoders = fitEncoders(features, 3);
    const x = encodeRows(encoders, features, 5);
    expect(Array.from(x.columns[0]!)).toEqual([1, 2, 3, 10, 2]);
    expect(Array.from(x.columns[1]!)).toEqual([0, 1, 0, 0, 1]);
    expect(Array.from(x.columns[2]!)).toEqual([0, 1, 0, 2, 2]);
    // Row 3 is 1970-01-01T00:00Z, a Thursday.
    expect(x.columns.slice(3, 9).map((c) => c[3])).toEqual([1970, 1, 1, 4, 0, 0]);
    const out: number[] = [];
    encodeValue(encoders[1]!, 'never seen', out);
    encodeValue(encoders[0]!, null, out);
    expect(out).toEqual([2, 2, 1]);
  });
});
