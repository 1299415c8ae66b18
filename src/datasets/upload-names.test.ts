import { describe, expect, it } from 'vitest';
import { uploadNameErrors } from './upload-names.js';

const at = { name: '/name', filename: '/file' };

describe('uploadNameErrors', () => {
  it('accepts ordinary names and file names, and checks only what is given', () => {
    expect(uploadNameErrors({ name: 'Sales 2024/25 (Berlin)', filename: 'sales-2024 ü.csv' }, at)).toEqual([]);
    expect(uploadNameErrors({}, at)).toEqual([]);
    expect(uploadNameErrors({ filename: 'a'.repeat(255) }, at)).toEqual([]);
  });

  it('refuses NUL and other control characters in either field, naming the field', () => {
    expect(uploadNameErrors({ name: 'bad\u0000name' }, at)).toEqual([
      { pointer: '/name', message: 'must be non-empty text without control characters' },
    ]);
    expect(uploadNameErrors({ filename: 'data\u0000.csv' }, at)).toEqual([
      { pointer: '/file', message: 'must be a non-empty file name without control characters' },
    ]);
    expect(uploadNameErrors({ name: 'tab\there', filename: 'new\nline.csv' }, at).map((e) => e.pointer)).toEqual([
      '/name',
      '/file',
    ]);
    expect(uploadNameErrors({ name: '   ' }, at)).toHaveLength(1);
  });

  it('refuses a path as a file name, in either separator', () => {
    for (const filename of ['../../etc/passwd', 'dir/data.csv', 'C:\\Users\\me\\data.csv', '..', '.']) {
      expect(uploadNameErrors({ filename }, at), filename).toEqual([
        { pointer: '/file', message: 'must be a file name, not a path (no / or \\)' },
      ]);
    }
  });

  it('refuses names over their length limits', () => {
    expect(uploadNameErrors({ name: 'n'.repeat(201) }, at)).toEqual([
      { pointer: '/name', message: 'must be at most 200 characters' },
    ]);
    expect(uploadNameErrors({ filename: 'f'.repeat(256) }, at)).toEqual([
      { pointer: '/file', message: 'must be at most 255 characters' },
    ]);
  });
});
