import { describe, expect, it } from 'vitest';
import { prettyLogLine } from './log-pretty.js';

const plain = { color: false };
const line = (entry: Record<string, unknown>) =>
  JSON.stringify({ level: 'info', time: '2026-12-06T02:45:33.504Z', service: 'weir', ...entry });

describe('prettyLogLine', () => {
  it('renders time of day, level, message and the other fields as key=value', () => {
    expect(
      prettyLogLine(
        line({ url: 'http://127.0.0.1:8080', dataDir: '/srv/weir data', database: 'sqlite', msg: 'weir is listening' }),
        plain,
      ),
    ).toBe('02:45:33.504 INFO  weir is listening  url=http://127.0.0.1:8080 dataDir="/srv/weir data" database=sqlite');
  });

  it("tags the worker process's lines and shows objects as compact JSON", () => {
    expect(
      prettyLogLine(
        line({
          level: 'warn',
          process: 'worker',
          kinds: [{ kind: 'ingest', concurrency: 2 }],
          msg: 'job workers started',
        }),
        plain,
      ),
    ).toBe('02:45:33.504 WARN  [worker] job workers started  kinds=[{"kind":"ingest","concurrency":2}]');
  });

  it('sums a completed request up as method, path, status and time', () => {
    const request = line({
      requestId: 'req_01',
      method: 'GET',
      url: '/api/v1/datasets',
      route: '/api/v1/datasets',
      statusCode: 401,
      ms: 4,
      msg: 'request completed',
    });
    expect(prettyLogLine(request, plain)).toBe('02:45:33.504 INFO  GET /api/v1/datasets 401 4ms  requestId=req_01');
  });

  it('puts an error stack on lines of its own, and a bare error message inline', () => {
    const err = { type: 'Error', message: 'disk full', stack: 'Error: disk full\n    at write (file.ts:1:1)' };
    expect(prettyLogLine(line({ level: 'error', err, jobId: 'job_1', msg: 'job failed' }), plain)).toBe(
      '02:45:33.504 ERROR job failed  jobId=job_1\n    Error: disk full\n        at write (file.ts:1:1)',
    );
    expect(
      prettyLogLine(
        line({ level: 'warn', err: { message: 'connection reset' }, msg: 'database connection lost' }),
        plain,
      ),
    ).toBe('02:45:33.504 WARN  database connection lost  err="connection reset"');
  });

  it('colours the level and the field names on a terminal that has colours', () => {
    const coloured = prettyLogLine(line({ level: 'error', code: 'x', msg: 'boom' }), { color: true });
    expect(coloured).toContain('\u001b[31mERROR\u001b[0m');
    expect(coloured).toContain('\u001b[90mcode=\u001b[0mx');
  });

  it('understands numeric pino levels and passes anything that is not a JSON object through unchanged', () => {
    expect(prettyLogLine(JSON.stringify({ level: 50, msg: 'numeric' }), plain)).toBe('ERROR numeric');
    for (const raw of ['FATAL ERROR: Reached heap limit', '{"truncated', '[1,2]', ''])
      expect(prettyLogLine(raw, plain)).toBe(raw);
  });
});
