import { pino, type DestinationStream } from 'pino';
import type { LogFormat } from './config.js';
import { prettyLogLine } from './log-pretty.js';

/** Where a process's log lines go, and in which form: decided once by the entry point, from WEIR_LOG_FORMAT and the stream. */
export interface LogOutput {
  pretty: boolean;
  /** What the pino logger writes to. */
  destination: DestinationStream;
  /** Writes one complete JSON log line made elsewhere (the supervised worker's, which always logs JSON to its pipe). */
  writeLine(line: string): void;
}

/** The subset of a stream this needs: `process.stdout` or `process.stderr`. */
export interface LogStream {
  /** Set for the process's own streams: JSON lines then go through pino's synchronous writer, as by default. */
  fd?: number;
  isTTY?: boolean;
  hasColors?(): boolean;
  write(chunk: string): boolean;
}

/** `auto`: readable lines on a terminal, JSON lines anywhere else (pipes, files, CI, tests). */
export function logOutput(format: LogFormat, stream: LogStream): LogOutput {
  const pretty = format === 'pretty' || (format === 'auto' && stream.isTTY === true);
  if (!pretty) {
    return {
      pretty,
      destination:
        stream.fd !== undefined
          ? pino.destination({ fd: stream.fd, sync: true })
          : { write: (chunk: string) => void stream.write(chunk) },
      writeLine: (line) => void stream.write(`${line}\n`),
    };
  }
  // hasColors() honours NO_COLOR, FORCE_COLOR and TERM=dumb; a forced `pretty` into a pipe gets no colours.
  const options = { color: stream.isTTY === true && (stream.hasColors?.() ?? false) };
  const writeLine = (line: string) => void stream.write(`${prettyLogLine(line, options)}\n`);
  return {
    pretty,
    // pino writes one line per call, ending in a newline.
    destination: { write: (chunk: string) => writeLine(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) },
    writeLine,
  };
}
