import type { RejectedInput, SourceRecord } from './types.js';

/**
 * MQTT payloads into records: a pure function, so every odd thing a device sends is a RejectedInput with a reason,
 * never an exception in the client's packet loop.
 */

export type MqttPayloadFormat = 'json' | 'kv' | 'auto';

export interface MqttPayloadOptions {
  format: MqttPayloadFormat;
  /** A (flattened) field whose value is the dedupe key. */
  keyField?: string;
  /** A (flattened) field holding the reading's time: ISO 8601, or epoch seconds or milliseconds; normalized to ISO. */
  timestampField?: string;
  /** Bytes; larger payloads are rejected unparsed. */
  maxBytes?: number;
}

export const MQTT_PAYLOAD_MAX_BYTES = 256 * 1024;
const SAMPLE_CHARS = 200;
/** Deeper JSON is kept as text: flattening is recursive and a hostile payload may nest thousands of levels. */
const MAX_FLATTEN_DEPTH = 16;
/** Below this, a number timestamp is epoch seconds; from it on, milliseconds (1e11 s is the year 5138). */
const EPOCH_MS_THRESHOLD = 1e11;

export function parseMqttPayload(
  topic: string,
  payload: Buffer,
  opts: MqttPayloadOptions,
): SourceRecord | RejectedInput {
  const maxBytes = opts.maxBytes ?? MQTT_PAYLOAD_MAX_BYTES;
  if (payload.length > maxBytes) {
    return rejected(`payload of ${payload.length} bytes is over the ${maxBytes}-byte cap`, payload);
  }
  const text = payload.toString('utf8').trim();
  if (text === '') return { reason: 'empty payload', sample: '' };

  let values: Record<string, unknown> | string;
  if (opts.format === 'json') values = fromJson(text);
  else if (opts.format === 'kv') values = fromKeyValues(text);
  else {
    const json = fromJson(text);
    values = typeof json === 'string' ? fromKeyValues(text) : json;
    if (typeof values === 'string') values = `neither JSON (${json}) nor key=value pairs (${values})`;
  }
  if (typeof values === 'string') return rejected(values, payload);

  if (opts.timestampField !== undefined) {
    const at = toIsoTime(values[opts.timestampField]);
    if (at === null) return rejected(`timestamp field '${opts.timestampField}' is missing or not a time`, payload);
    values[opts.timestampField] = at;
  }
  // The MQTT topic is a column of its own, so one subscription with wildcards keeps its devices apart; it wins over a
  // payload field of the same name because it is what the broker vouches for.
  values.topic = topic;
  const keyValue = opts.keyField === undefined ? undefined : values[opts.keyField];
  // Only a key the payload carries dedupes: the MQTT packet id is per session and recycled after 65,535 messages, so
  // two different readings share one, and a redelivery after a reconnect may carry another.
  const key = keyValue === undefined || keyValue === null || keyValue === '' ? null : String(keyValue);
  return { key, cursor: null, values };
}

function rejected(reason: string, payload: Buffer): RejectedInput {
  // Decode a slice only: a 256 KiB payload is not turned into a string to keep 200 characters of it.
  return {
    reason,
    sample: payload
      .subarray(0, SAMPLE_CHARS * 4)
      .toString('utf8')
      .slice(0, SAMPLE_CHARS),
  };
}

/** The values, or why the text is not a usable JSON record. */
function fromJson(text: string): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return `invalid JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (typeof parsed === 'number' || typeof parsed === 'string' || typeof parsed === 'boolean') return { value: parsed };
  if (parsed === null) return 'JSON null is not a record';
  if (Array.isArray(parsed)) return 'a JSON array is not one record';
  const values: Record<string, unknown> = {};
  try {
    flatten(parsed as Record<string, unknown>, '', 0, values);
  } catch (e) {
    // JSON.stringify of the part below the depth cap recurses too: thousands of levels overflow the stack.
    if (e instanceof RangeError) return 'JSON nested too deeply';
    throw e;
  }
  return values;
}

function flatten(object: Record<string, unknown>, prefix: string, depth: number, into: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(object)) {
    const column = prefix === '' ? name : `${prefix}_${name}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < MAX_FLATTEN_DEPTH) {
      flatten(value as Record<string, unknown>, column, depth + 1, into);
    } else if (value !== null && typeof value === 'object') {
      // Arrays (and objects nested too deep) have no column shape: they are kept as their JSON text.
      into[column] = JSON.stringify(value);
    } else {
      into[column] = value;
    }
  }
}

/** `temp=21.5&hum=40`, `temp=21.5,hum=40`, `temp=21.5; hum=40` or `temp=21.5 hum=40`; or why it is not that. */
function fromKeyValues(text: string): Record<string, unknown> | string {
  const values: Record<string, unknown> = {};
  for (const pair of text.split(/[&,;\s]+/)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return `'${pair.slice(0, 40)}' is not a key=value pair`;
    values[decode(pair.slice(0, eq))] = typed(decode(pair.slice(eq + 1)));
  }
  return Object.keys(values).length === 0 ? 'no key=value pairs' : values;
}

/** Percent-escapes as in a query string; a stray % is kept as it is. */
function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** kv values arrive as text; numbers and booleans are recognised here so schema inference sees what JSON would give. */
function typed(s: string): unknown {
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n)) return n;
  }
  return s;
}

function toIsoTime(value: unknown): string | null {
  let ms: number;
  if (typeof value === 'number') ms = Math.abs(value) < EPOCH_MS_THRESHOLD ? value * 1000 : value;
  else if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return toIsoTime(Number(value));
  else if (typeof value === 'string') ms = Date.parse(value);
  else return null;
  const at = new Date(ms);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}
