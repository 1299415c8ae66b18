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
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
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
