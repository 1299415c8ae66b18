import { describe, expect, it } from 'vitest';
import { refusalFromProblemBody, refusalFromUploadError, refusalLines } from './refusal';

describe('refusals in words', () => {
  it('reads a problem document: its detail, each place with its line, and the request id', () => {
    const body = JSON.stringify({
      status: 422,
      title: 'Unprocessable Content',
      detail: 'Row 2 (line 3) has 3 fields; the header has 2',
      requestId: 'req-1',
      errors: [{ pointer: 'line 3', message: 'Row 2 (line 3) has 3 fields; the header has 2', line: 3, row: 2 }],
    });
    const refusal = refusalFromProblemBody(body, 422)!;
    expect(refusal.requestId).toBe('req-1');
    // The place repeats the detail: said once, with its line.
    expect(refusalLines(refusal)).toEqual(['Line 3: Row 2 (line 3) has 3 fields; the header has 2']);
  });

  it('keeps the overall message when the places say something else', () => {
    const refusal = refusalFromUploadError({
      message: 'The file is not valid CSV',
      details: [
        { pointer: 'line 7', message: 'unterminated quote', line: 7 },
        { pointer: '/file', message: 'no header', row: 1 },
        { pointer: '/file', message: 'somewhere' },
      ],
    });
    expect(refusalLines(refusal)).toEqual([
      'The file is not valid CSV',
      'Line 7: unterminated quote',
      'Row 1: no header',
      'somewhere',
    ]);
  });

  it('is null for a body that is not a problem document, and falls back to the title', () => {
    expect(refusalFromProblemBody('<html>bad gateway</html>', 502)).toBeNull();
    expect(refusalFromProblemBody(JSON.stringify({ status: 415, title: 'Unsupported' }), 415)?.message).toBe(
      'Unsupported',
    );
    expect(refusalLines(refusalFromUploadError(null))).toEqual(['The file was refused']);
  });
});
