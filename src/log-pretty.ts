/**
 * One pino JSON line as one readable line, for people watching a terminal:
 *   `02:45:37.443 INFO  [worker] GET /api/v1/datasets 401 4ms  requestId=req_…`
 * The JSON line stays the record (files, pipes, CI); this is only how a terminal shows it. A line that is not a JSON
 * object (a worker's stray output) passes through unchanged.
 */

export interface PrettyOptions {
  /** ANSI colours for the level and the fields (a terminal that has them). */
  color: boolean;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const LEVEL_COLORS: Record<string, string> = {
  trace: '90',
  debug: '90',
  info: '32',
  warn: '33',
  error: '31',
  fatal: '35',
};
/** Fields the line shows in its head, or that every line carries (`service`). */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'service', 'process']);
/** Request summary fields: `GET /path 200 4ms` instead of four key=value pairs (`route` repeats `url` as a pattern). */
const REQUEST_FIELDS = ['method', 'url', 'statusCode', 'ms', 'route'];

export function prettyLogLine(line: string, options: PrettyOptions): string {
  const entry = parseObject(line);
  if (!entry) return line;
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level =
    typeof entry.level === 'number' ? (LEVEL_NAMES[entry.level] ?? String(entry.level)) : String(entry.level ?? '');
  const head = [
    typeof entry.time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(entry.time)
      ? paint('90', entry.time.slice(11, 23))
      : null,
    paint(LEVEL_COLORS[level] ?? '0', level.toUpperCase().padEnd(5)),
    typeof entry.process === 'string' ? paint('36', `[${entry.process}]`) : null,
  ];
  const isRequest = typeof entry.method === 'string' && typeof entry.url === 'string' && entry.statusCode !== undefined;
  const message = [
    typeof entry.msg === 'string' && !(isRequest && entry.msg === 'request completed') ? entry.msg : null,
    isRequest
      ? `${String(entry.method)} ${String(entry.url)} ${String(entry.statusCode)}${typeof entry.ms === 'number' ? ` ${entry.ms}ms` : ''}`
      : null,
  ];
  const skip = new Set([...HEAD_FIELDS, ...(isRequest ? REQUEST_FIELDS : []), 'err']);
  const fields = Object.entries(entry)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${paint('90', `${key}=`)}${formatValue(value)}`);
  const err = formatError(entry.err);
  if (err.inline) fields.push(`${paint('90', 'err=')}${err.inline}`);
  const text = [...head, ...message].filter((part) => part !== null && part !== '').join(' ');
  return (
    (fields.length > 0 ? `${text}  ${fields.join(' ')}` : text) +
    (err.stack ? `\n${paint('90', indent(err.stack))}` : '')
  );
}

function parseObject(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Plain words as they are, anything with spaces, quotes or `=` as JSON, so `key=value` pairs stay unambiguous. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** pino's error serializer gives `{type, message, stack, …}`: the stack (which starts with the message) on lines of its own. */
function formatError(err: unknown): { inline?: string; stack?: string } {
  if (err === undefined) return {};
  if (typeof err !== 'object' || err === null) return { inline: formatValue(err) };
  const { stack, message } = err as { stack?: unknown; message?: unknown };
  if (typeof stack === 'string' && stack !== '') return { stack };
  return { inline: typeof message === 'string' ? formatValue(message) : formatValue(err) };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
