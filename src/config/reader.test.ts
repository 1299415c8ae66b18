import { describe, expect, it } from 'vitest';
import { parseByteSize } from './reader.js';

describe('parseByteSize', () => {
  it.each([
    ['1048576', 1048576],
    ['512MB', 512e6],
    ['5 GiB', 5 * 1024 ** 3],
    ['1.5kb', 1500],
    ['10KiB', 10240],
  ])('%s → %d', (raw, bytes) => expect(parseByteSize(raw)).toBe(bytes));
  it.each(['', '-1', '1XB', 'MB', '0'])('refuses %j', (raw) => expect(parseByteSize(raw)).toBeUndefined());
});
