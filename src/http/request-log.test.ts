import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../logger.js';
import { RequestLog, requestLog } from './request-log.js';

function capture(level: 'info' | 'warn'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, {
    write: (s: string) => {
      const { time: _time, ...rest } = JSON.parse(s) as Record<string, unknown>;
      lines.push(rest);
    },
  });
  return { log, lines };
}

describe('RequestLog', () => {
  it('writes the lines a pino child with the same bindings writes, redaction and errors included', () => {
    const lazy = capture('info');
    const real = capture('info');
    const bindings = { requestId: 'req_1' };
    const a = requestLog(lazy.log, bindings, {}) as RequestLog;
    const b = real.log.child(bindings, {});
    expect(a).toBeInstanceOf(RequestLog);
    for (const l of [a, b] as unknown as Logger[]) {
      l.info({ route: '/x', headers: { authorization: 'Bearer secret' } }, 'request completed');
      l.warn('plain %s', 'message');
      l.error({ err: new Error('boom') }, 'request failed');
      l.debug('dropped at info');
      l.child({ jobId: 'j' }).info('from a child');
    }
    expect(lazy.lines).toEqual(real.lines);
    expect(lazy.lines).toHaveLength(4);
    expect(lazy.lines[0]).toMatchObject({
      requestId: 'req_1',
      service: 'weir',
      headers: { authorization: '[redacted]' },
    });
  });

  it('makes no pino child while nothing passes the level', () => {
    const { log, lines } = capture('warn');
    const child = vi.spyOn(log, 'child');
    const l = new RequestLog(log, { requestId: 'req_2' });
    l.info({ a: 1 }, 'not at warn');
    l.debug('nor this');
    expect(l.level).toBe('warn');
    expect(l.isLevelEnabled('info')).toBe(false);
    expect(child).not.toHaveBeenCalled();
    l.warn('this one');
    expect(child).toHaveBeenCalledTimes(1);
    l.error('and this');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((x) => [x.level, x.requestId, x.msg])).toEqual([
      ['warn', 'req_2', 'this one'],
      ['error', 'req_2', 'and this'],
    ]);
  });

  it('follows a level set on it, and hands routes with their own level a real child', () => {
    const { log, lines } = capture('warn');
    const l = new RequestLog(log, { requestId: 'req_3' });
    l.level = 'debug';
    l.debug('now written');
    expect(lines.map((x) => x.msg)).toEqual(['now written']);
    expect(log.level).toBe('warn');
    const routeLevel = requestLog(log, { requestId: 'req_4' }, { level: 'info' });
    expect(routeLevel).not.toBeInstanceOf(RequestLog);
    expect(routeLevel.level).toBe('info');
  });
});
