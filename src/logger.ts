import { pino, type DestinationStream, type LogFn, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** pino JSON lines with ISO timestamps; secrets that may pass through headers are redacted. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'weir' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** What services log through: a process logger or a request's child logger (which carries the request id). */
export interface Log {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
}

/** `log` with `fields` on every line (a child logger for code that holds only a Log, such as a job's). */
export function withFields(log: Log, fields: Record<string, unknown>): Log {
  const wrap = (fn: LogFn): LogFn =>
    ((first: unknown, ...rest: unknown[]) =>
      typeof first === 'object' && first !== null && !(first instanceof Error)
        ? fn.call(log, { ...fields, ...first }, ...(rest as [string]))
        : fn.call(
            log,
            { ...fields, ...(first instanceof Error ? { err: first } : {}) },
            ...((first instanceof Error ? rest : [first, ...rest]) as [string]),
          )) as LogFn;
  return { info: wrap(log.info), warn: wrap(log.warn), error: wrap(log.error), debug: wrap(log.debug) };
}
