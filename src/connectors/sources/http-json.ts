import { compileJsonPath, JsonPathError } from '../json-path.js';
import { coerceValue, inferFields, sampleOf, type TimestampFormat } from '../records.js';
import { SourceError } from '../source-error.js';
import type {
  FieldSpec,
  FieldType,
  PollContext,
  PollResult,
  PollSource,
  RejectedInput,
  SourceRecord,
} from './types.js';

/**
 * Any HTTP API that answers JSON: a URL template, an array of records at `recordsPath`, a mapping of JSON paths
 * to typed columns, and one of three pagination styles. Pages are followed up to `maxPagesPerPoll` per poll.
 *
 * URL placeholders (each URL-encoded, empty when unknown): `{cursor}` the stored cursor, `{from}` and `{to}` the
 * backfill range (ISO 8601). The cursor is the last record's value at `cursorPath`; without `cursorPath` the
 * source has no cursor and every poll reads from the template's first page.
 */

export type HttpJsonPagination =
  | { kind: 'none' }
  /** The body's value at `nextPath` is sent as query parameter `param` for the next page; absent/empty: done. */
  | { kind: 'cursor'; nextPath: string; param: string }
  /** Query parameter `param` counts pages from `start` (default 1) until a page has no records. */
  | { kind: 'page'; param: string; start?: number }
  /** The `Link` header's rel="next" URL (RFC 8288). */
  | { kind: 'link' };

export interface HttpJsonField {
  name: string;
  /** Inside one record, e.g. `$.main.temp` or `temp`. */
  path: string;
  type: FieldType;
  format?: TimestampFormat;
}

export interface HttpJsonConfig {
  url: string;
  /** An auth header such as `{ name: 'Authorization', value: 'Bearer …' }`; its value never appears in messages. */
  auth?: { name: string; value: string };
  /** Where the records are in the body: `$` when the body is the array. */
  recordsPath: string;
  /** The column mapping; empty or absent: every top-level key of the records, with inferred types (dry run). */
  fields?: HttpJsonField[];
  /** Dedupe key per record. */
  keyPath?: string;
  /** Per record; the last record's value becomes the cursor. */
  cursorPath?: string;
  pagination?: HttpJsonPagination;
  /** Default 10. */
  maxPagesPerPoll?: number;
}

interface CompiledField extends HttpJsonField {
  read: (record: unknown) => unknown;
}

/** The URL of the Link header's rel="next", resolved against the page's URL. */
export function nextLink(header: string | undefined, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (match && /;\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?/i.test(match[2]!)) {
      try {
        return new URL(match[1]!, base).toString();
      } catch {
        return null;
      }
    }
  }
  return null;
}

function withParam(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.toString();
}

export class HttpJsonSource implements PollSource {
  private readonly readRecords: (body: unknown) => unknown;
  private readonly fields: CompiledField[];
  private readonly readKey: ((record: unknown) => unknown) | null;
  private readonly readCursor: ((record: unknown) => unknown) | null;
  private readonly readNext: ((body: unknown) => unknown) | null;
  private readonly pagination: HttpJsonPagination;
  private readonly maxPages: number;

  constructor(private readonly config: HttpJsonConfig) {
    try {
      this.readRecords = compileJsonPath(config.recordsPath);
      this.fields = (config.fields ?? []).map((field) => ({ ...field, read: compileJsonPath(field.path) }));
      this.readKey = config.keyPath ? compileJsonPath(config.keyPath) : null;
      this.readCursor = config.cursorPath ? compileJsonPath(config.cursorPath) : null;
      this.pagination = config.pagination ?? { kind: 'none' };
      this.readNext = this.pagination.kind === 'cursor' ? compileJsonPath(this.pagination.nextPath) : null;
    } catch (error) {
      if (error instanceof JsonPathError) throw new SourceError('data', error.message);
      throw error;
    }
    this.maxPages = Math.max(1, config.maxPagesPerPoll ?? 10);
  }

  poll(cursor: string | null, ctx: PollContext): Promise<PollResult> {
    return this.read(this.expand(cursor, null), ctx);
  }

  backfill(range: { from: Date; to: Date }, cursor: string | null, ctx: PollContext): Promise<PollResult> {
    return this.read(this.expand(cursor, range), ctx);
  }

  private expand(cursor: string | null, range: { from: Date; to: Date } | null): string {
    return this.config.url
      .replaceAll('{cursor}', encodeURIComponent(cursor ?? ''))
      .replaceAll('{from}', range ? encodeURIComponent(range.from.toISOString()) : '')
      .replaceAll('{to}', range ? encodeURIComponent(range.to.toISOString()) : '');
  }

  private async read(firstUrl: string, ctx: PollContext): Promise<PollResult> {
    const headers = this.config.auth ? { [this.config.auth.name]: this.config.auth.value } : undefined;
    const objects: Record<string, unknown>[] = [];
    const rejected: RejectedInput[] = [];
    let url: string | null = firstUrl;
    let page = this.pagination.kind === 'page' ? (this.pagination.start ?? 1) : 0;
    if (this.pagination.kind === 'page') url = withParam(firstUrl, this.pagination.param, String(page));
    let pages = 0;
    while (url !== null && pages < this.maxPages) {
      pages += 1;
      const response = await ctx.fetch({ url, ...(headers ? { headers } : {}) }, ctx.signal);
      let body: unknown;
      try {
        body = JSON.parse(response.body);
      } catch {
        rejected.push({ reason: 'the response is not JSON', sample: sampleOf(response.body) });
        url = null;
        break;
      }
      const records = this.readRecords(body);
      if (!Array.isArray(records)) {
        rejected.push({ reason: `no array at ${this.config.recordsPath}`, sample: sampleOf(response.body) });
        url = null;
        break;
      }
      for (const record of records) {
        if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
          objects.push(record as Record<string, unknown>);
        } else {
          rejected.push({ reason: 'a record is not a JSON object', sample: sampleOf(record) });
        }
      }
      url = this.nextUrl(url, body, response.headers, records.length, () => (page += 1));
    }
    const { records, fields } = this.map(objects, rejected);
    const cursor = records.findLast((record) => record.cursor !== null)?.cursor ?? null;
    // Asking again continues only where the next poll starts from the new cursor; otherwise it would reread the
    // same pages forever, so the pages past the cap wait for the next scheduled poll.
    const resumable = this.readCursor !== null && cursor !== null && this.config.url.includes('{cursor}');
    if (url !== null) {
      ctx.log.warn({ pages, resumable }, `HTTP JSON source: stopped after ${pages} pages (maxPagesPerPoll)`);
    }
    return { records, rejected, cursor, more: url !== null && resumable, fields };
  }

  private nextUrl(
    url: string,
    body: unknown,
    headers: Record<string, string>,
    count: number,
    nextPage: () => number,
  ): string | null {
    switch (this.pagination.kind) {
      case 'none':
        return null;
      case 'cursor': {
        const next = this.readNext?.(body);
        if (next === undefined || next === null || next === '') return null;
        return withParam(url, this.pagination.param, String(next));
      }
      case 'page':
        return count === 0 ? null : withParam(url, this.pagination.param, String(nextPage()));
      case 'link':
        return nextLink(headers.link, url);
    }
  }

  private map(
    records: Record<string, unknown>[],
    rejected: RejectedInput[],
  ): { records: SourceRecord[]; fields: FieldSpec[] } {
    const fields: CompiledField[] =
      this.fields.length > 0
        ? this.fields
        : inferFields(records).map((spec) => ({
            ...spec,
            path: spec.name,
            read: (record) => (record as Record<string, unknown>)[spec.name],
          }));
    const out: SourceRecord[] = [];
    for (const record of records) {
      const values: Record<string, unknown> = {};
      const reasons: string[] = [];
      let present = 0;
      for (const field of fields) {
        const raw = field.read(record);
        if (raw !== undefined) present += 1;
        const coerced = coerceValue(raw, field.type, field.format);
        if (coerced.ok) {
          values[field.name] = coerced.value;
        } else {
          values[field.name] = null;
          reasons.push(`${field.name}: ${coerced.reason}`);
        }
      }
      if (fields.length > 0 && present === 0) {
        rejected.push({ reason: 'none of the mapped fields is in the record', sample: sampleOf(record) });
        continue;
      }
      // The record is kept without its bad values: one wrong type must not drop the rest of a reading.
      for (const reason of reasons) rejected.push({ reason, sample: sampleOf(record) });
      const key = this.readKey?.(record);
      const cursor = this.readCursor?.(record);
      out.push({
        key: key === undefined || key === null ? null : typeof key === 'string' ? key : JSON.stringify(key),
        cursor:
          cursor === undefined || cursor === null ? null : typeof cursor === 'string' ? cursor : JSON.stringify(cursor),
        values,
      });
    }
    return { records: out, fields: fields.map(({ name, type }) => ({ name, type })) };
  }
}
