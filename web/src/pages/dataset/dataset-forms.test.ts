import { describe, expect, it } from 'vitest';
import { filenameFrom } from './DownloadMenu';
import { parseTags } from './EditDatasetDialog';

describe('parseTags', () => {
  it('trims, drops empty tags and repeats', () => {
    expect(parseTags(' alpha, beta,,alpha , ')).toEqual(['alpha', 'beta']);
    expect(parseTags('')).toEqual([]);
  });
});

describe('filenameFrom', () => {
  it('prefers the UTF-8 filename*, then filename, then the fallback', () => {
    expect(filenameFrom(`attachment; filename="a.csv"; filename*=UTF-8''caf%C3%A9.csv`, 'x')).toBe('café.csv');
    expect(filenameFrom('attachment; filename="a.csv"', 'x')).toBe('a.csv');
    expect(filenameFrom(null, 'fallback.csv')).toBe('fallback.csv');
    expect(filenameFrom(`attachment; filename="a.csv"; filename*=UTF-8''%E0%A4%A.csv`, 'x')).toBe('a.csv');
  });
});
