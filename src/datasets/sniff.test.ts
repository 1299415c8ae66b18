import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { checkJsonArrayHead, checkNdjsonHead, detectFormat, isUtf8, lineAt } from './sniff.js';

async function rejected(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const detect = (bytes: Buffer | string, name = 'f.csv', total?: number) => {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return detectFormat(buf, total ?? buf.length, name);
};

describe('detectFormat', () => {
  it('recognizes formats by content, not by name', async () => {
    expect(await detect('a,b\n1,2\n', 'x.json').catch((e: AppError) => e.code)).toBe('invalid_json');
    expect((await detect('[{"a":1}]', 'x.csv')).format).toBe('json');
    expect((await detect('{"a":1}\n', 'x.csv')).format).toBe('ndjson');
    expect((await detect('  \n[ {"a":1} ]', 'x')).format).toBe('json');
    expect((await detect(Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(10)]), 'x.csv')).format).toBe('parquet');
    expect((await detect(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), 'x.csv')).format).toBe('xlsx');
  });

  it('checks BOMs before binary magic (a UTF-16LE BOM is not audio)', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')]);
    expect(await detect(le)).toEqual({ format: 'csv', encoding: 'utf-16le', bomBytes: 2 });
    const be = Buffer.from(le);
    be.swap16();
    expect(await detect(be)).toEqual({ format: 'csv', encoding: 'utf-16be', bomBytes: 2 });
    expect(await detect(Buffer.from('\ufeffa,b\n1,2\n'))).toEqual({ format: 'csv', encoding: 'utf-8', bomBytes: 3 });
  });

  it('tells UTF-8 from Windows-1252', async () => {
    expect((await detect('name\nZoë\n')).encoding).toBe('utf-8');
    expect((await detect(Buffer.from([0x6e, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]))).encoding).toBe('windows-1252');
  });

  it('rejects empty, whitespace-only, binary and NUL-bearing files', async () => {
    expect((await rejected(detect(''))).code).toBe('empty_file');
    expect((await rejected(detect(' \n\t\n'))).code).toBe('empty_file');
    expect(
      (
        await rejected(
          detect(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52])),
        )
      ).code,
    ).toBe('unsupported_format');
    const nul = await rejected(detect('a,b\n1,2\n3,\u0000\n'));
    expect(nul.code).toBe('binary_content');
    expect(nul.errors[0]!.line).toBe(3);
    const control = await rejected(
      detect(Buffer.from(Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 0x01 : 0x41)))),
    );
    expect(control.code).toBe('binary_content');
  });

  it('names the mismatch when the extension promises a binary format', async () => {
    expect((await rejected(detect('a,b\n', 'x.parquet'))).code).toBe('invalid_parquet');
    expect((await rejected(detect('a,b\n', 'x.xlsx'))).code).toBe('invalid_xlsx');
  });
});

describe('isUtf8', () => {
  it('accepts a multibyte character cut at the end of a partial sample only', () => {
    const euro = Buffer.from('ab€');
    const cut = euro.subarray(0, euro.length - 1);
    expect(isUtf8(cut, true)).toBe(true);
    expect(isUtf8(cut, false)).toBe(false);
    expect(isUtf8(Buffer.from([0x61, 0xe9, 0x62]), true)).toBe(false);
  });
});

describe('JSON structure checks', () => {
  it('an array must hold objects', () => {
    expect(() => checkJsonArrayHead('[{"a":1}]')).not.toThrow();
    for (const [text, code] of [
      ['[1,2]', 'invalid_json'],
      ['[["a"]]', 'invalid_json'],
      ['[ ]', 'empty_file'],
      ['[', 'invalid_json'],
    ] as const) {
      try {
        checkJsonArrayHead(text);
        throw new Error(`accepted ${text}`);
      } catch (e) {
        expect((e as AppError).code).toBe(code);
      }
    }
  });

  it('NDJSON lines must be objects; a partial sample ignores its cut last line', () => {
    expect(() => checkNdjsonHead('{"a":1}\n{"a":2', true)).not.toThrow();
    expect(() => checkNdjsonHead('{"a":1}\n[1]\n', false)).toThrow(/Line 2 is not a JSON object/);
    expect(() => checkNdjsonHead('{\n"a": 1\n}\n', false)).toThrow(/single multi-line JSON object/);
  });
});

describe('lineAt', () => {
  it('counts lines up to an offset', () => {
    expect(lineAt('a\nb\nc', 0)).toBe(1);
    expect(lineAt('a\nb\nc', 4)).toBe(3);
  });
});
