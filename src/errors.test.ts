import { readdirSync, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, errors, fileRejected, isErrorCode, statusOf, type ErrorCode } from './errors.js';

const DOCS = new URL('../docs/', import.meta.url);
const TABLE_START = '<!-- error-codes:start';
const TABLE_END = '<!-- error-codes:end -->';

/** The code table as docs/api.md shows it. */
function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, { status, title }]) => `| \`${code}\` | ${status} | ${title} |`);
  return ['| code | status | title |', '| --- | --- | --- |', ...rows].join('\n');
}

describe('error codes', () => {
  it('give every code one client (4xx) or server (5xx) status and a title', () => {
    for (const [code, { status, title }] of Object.entries(ERROR_CODES)) {
      expect(status >= 400 && status < 600, `${code}: ${status}`).toBe(true);
      // 460 is tus's own checksum-mismatch status; every other one is a standard HTTP status.
      if (code !== 'checksum_mismatch') expect(STATUS_CODES[status], `${code}: ${status}`).toBeDefined();
      expect(title, code).toMatch(/^[A-Z]/);
    }
  });

  it('take the status and title from the code', () => {
    const e = new AppError('upload_locked', 'taken', [{ pointer: '/file', message: 'm' }], { offset: 3 });
    expect(e).toMatchObject({ status: 423, code: 'upload_locked', title: ERROR_CODES.upload_locked.title });
    expect(e).toMatchObject({ message: 'taken', errors: [{ pointer: '/file' }], extensions: { offset: 3 } });
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[])
      expect(new AppError(code, 'd').status, code).toBe(statusOf(code));
  });

  it('keep the statuses clients relied on when the codes were split', () => {
    const expected: Partial<Record<ErrorCode, number>> = {
      bad_request: 400,
      validation_failed: 400,
      unauthorized: 401,
      forbidden: 403,
      not_found: 404,
      request_timeout: 408,
      conflict: 409,
      upload_gone: 410,
      precondition_failed: 412,
      payload_too_large: 413,
      quota_exceeded: 413,
      unsupported_media_type: 415,
      upload_locked: 423,
      upgrade_required: 426,
      rate_limited: 429,
      headers_too_large: 431,
      checksum_mismatch: 460,
      internal: 500,
      timeout: 500,
      worker_lost: 500,
      not_ready: 503,
    };
    for (const [code, status] of Object.entries(expected)) expect(statusOf(code as ErrorCode), code).toBe(status);
  });

  it('refuse a file with 415 when its kind cannot be read, 413 when it is too large, else 422', () => {
    expect(fileRejected('unsupported_format', 'png').status).toBe(415);
    expect(fileRejected('unsupported_encoding', 'utf-32').status).toBe(415);
    expect(fileRejected('xlsx_too_large', 'big').status).toBe(413);
    expect(fileRejected('ragged_rows', 'r', { line: 4, row: 3 })).toMatchObject({
      status: 422,
      errors: [{ pointer: 'line 4', line: 4, row: 3, message: 'r' }],
    });
    expect(errors.payloadTooLarge(10).status).toBe(413);
  });

  it('know their own codes only', () => {
    expect(isErrorCode('forbidden')).toBe(true);
    expect(isErrorCode('unknown_kind')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('are listed in docs/api.md as the table has them (copy the expected table there after a change)', () => {
    const doc = readFileSync(new URL('api.md', DOCS), 'utf8');
    const start = doc.indexOf(TABLE_START);
    const end = doc.indexOf(TABLE_END);
    expect(start >= 0 && end > start, 'docs/api.md has the error-codes markers').toBe(true);
    const shown = doc.slice(doc.indexOf('\n', start) + 1, end).trim();
    expect(shown).toBe(errorCodeTable());
  });

  it('have the same status wherever the docs name one with it ("409 `conflict`", "| `empty_file` | 422 |")', () => {
    const mentions = /(\d{3}) `([a-z_]+)`|\| `([a-z_]+)` \| (\d{3}) \|/g;
    let checked = 0;
    for (const file of readdirSync(DOCS).filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(new URL(file, DOCS), 'utf8');
      for (const m of text.matchAll(mentions)) {
        const code = m[2] ?? m[3]!;
        const status = Number(m[1] ?? m[4]);
        if (!isErrorCode(code)) continue;
        expect(status, `docs/${file}: ${m[0]}`).toBe(statusOf(code));
        checked++;
      }
    }
    // The table in docs/api.md alone names every code once.
    expect(checked).toBeGreaterThanOrEqual(Object.keys(ERROR_CODES).length);
  });
});
