import { coerceValue, sampleOf } from '../records.js';
import { SourceError } from '../source-error.js';
import type { FieldSpec, PollContext, PollResult, PollSource, RejectedInput, SourceRecord } from './types.js';

/**
 * A ThingSpeak channel over REST: `GET {baseUrl}/channels/{id}/feeds.json`. ThingSpeak answers the newest
 * `results` (≤ 8000) entries of [start, end], oldest first; entry ids of a channel are consecutive and grow with
 * created_at (seconds precision). So "the entries after entry N" is asked as "start at N's created_at" (inclusive,
 * ids ≤ N dropped), and a full page whose first id is not N + 1 means entries were cut off at the old end: the
 * window's end is then narrowed (bisected) until a page holds the entries right after N, and `more` says so.
 *
 * Cursor: `"<entry_id>@<created_at ISO>"`, e.g. `"1234@2026-12-06T18:00:00Z"`: a plain string that survives a
 * restart. A bare `"<entry_id>"` is accepted (from older state); it has no time, so only the newest page is read.
 */

export interface ThingSpeakConfig {
  channelId: number;
  /** The channel's read API key, for private channels. */
  apiKey?: string;
  /** Default https://api.thingspeak.com. */
  baseUrl?: string;
  /** Entries per request, ≤ 8000 (ThingSpeak's limit). Default 8000. */
  results?: number;
  /** Ask for latitude/longitude/elevation (ThingSpeak's `location=true`). */
  location?: boolean;
  /** Ask for the status text (ThingSpeak's `status=true`). */
  status?: boolean;
}

export const THINGSPEAK_MAX_RESULTS = 8000;
const EXTRA_COLUMNS = ['latitude', 'longitude', 'elevation'] as const;
const RESERVED = new Set(['entry_id', 'created_at', 'latitude', 'longitude', 'elevation', 'status']);
/** Bisection steps for a window's end: 2^40 s is far more than any channel's age. */
const MAX_NARROWING = 40;

interface Cursor {
  entryId: number;
  /** ms; null for a bare entry id. */
  atMs: number | null;
}

interface Feed {
  labels: Map<string, string>;
  entries: Record<string, unknown>[];
}

export function formatThingSpeakCursor(entryId: number, createdAt: string): string {
  return `${entryId}@${createdAt}`;
}

export function parseThingSpeakCursor(cursor: string): Cursor {
  const match = /^(\d+)(?:@(.+))?$/.exec(cursor.trim());
  const atMs = match?.[2] === undefined ? null : Date.parse(match[2]);
  if (!match || !Number.isSafeInteger(Number(match[1])) || (atMs !== null && !Number.isFinite(atMs))) {
    throw new SourceError('data', `not a ThingSpeak cursor: '${cursor.slice(0, 60)}'`);
  }
  return { entryId: Number(match[1]), atMs };
}

/**
 * Column names from ThingSpeak field labels: lower case letters, digits and underscores, not starting with a
 * digit, at most 63 characters, unique, never one of the fixed columns; `fieldN` when a label has none of that.
 */
export function thingSpeakColumnNames(labels: ReadonlyMap<string, string>): Map<string, string> {
  const used = new Set(RESERVED);
  const names = new Map<string, string>();
  for (const [field, label] of labels) {
    let base = label
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 63);
    if (base === '') base = field;
    if (/^\d/.test(base)) base = `f_${base}`.slice(0, 63);
    let name = base;
    for (let n = 2; used.has(name); n += 1) name = `${base.slice(0, 60)}_${n}`;
    used.add(name);
    names.set(field, name);
  }
  return names;
}

/** "YYYY-MM-DD HH:NN:SS", the form ThingSpeak's start and end take (in the `timezone` sent along: UTC). */
function thingSpeakTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

const floorSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

export class ThingSpeakSource implements PollSource {
  private readonly baseUrl: string;
  private readonly results: number;

  constructor(private readonly config: ThingSpeakConfig) {
    if (!Number.isSafeInteger(config.channelId) || config.channelId <= 0) {
      throw new SourceError('data', `ThingSpeak channel id must be a positive integer, not ${config.channelId}`);
    }
    this.baseUrl = (config.baseUrl ?? 'https://api.thingspeak.com').replace(/\/+$/, '');
    this.results = Math.max(1, Math.min(config.results ?? THINGSPEAK_MAX_RESULTS, THINGSPEAK_MAX_RESULTS));
  }

  async poll(cursor: string | null, ctx: PollContext): Promise<PollResult> {
    if (cursor === null) {
      const feed = await this.request(null, null, ctx);
      if (!('entries' in feed)) return feed;
      return this.toResult(feed, feed.entries, false);
    }
    const after = parseThingSpeakCursor(cursor);
    if (after.atMs === null) {
      const feed = await this.request(null, null, ctx);
      if (!('entries' in feed)) return feed;
      return this.toResult(
        feed,
        feed.entries.filter((e) => Number(e.entry_id) > after.entryId),
        false,
      );
    }
    return this.readAfter(after, after.atMs, null, ctx);
  }

  async backfill(range: { from: Date; to: Date }, cursor: string | null, ctx: PollContext): Promise<PollResult> {
    const after = cursor === null ? null : parseThingSpeakCursor(cursor);
    const startMs = after?.atMs ?? floorSecond(range.from.getTime());
    return this.readAfter(after, startMs, range.to.getTime(), ctx);
  }

  /**
   * The entries after `after` from `startMs` up to `endMs` (null: open), at most one page. Bisects the window's end
   * while a page is full and does not start right after the cursor (without a cursor: while it is full).
   */
  private async readAfter(
    after: Cursor | null,
    startMs: number,
    endMs: number | null,
    ctx: PollContext,
  ): Promise<PollResult> {
    let low = startMs; // a window ending here holds nothing new
    let upperBound: number | null = null; // the entries cut off lie at or before this time
    let high: number | null = endMs; // the window tried next ends here
    let last = false;
    for (let step = 0; ; step += 1) {
      const feed = await this.request(startMs, high, ctx);
      if (!('entries' in feed)) return feed;
      const fresh = after === null ? feed.entries : feed.entries.filter((e) => Number(e.entry_id) > after.entryId);
      const full = feed.entries.length >= this.results;
      const firstId = Number(feed.entries[0]?.entry_id);
      const complete = !full || (after !== null && firstId <= after.entryId + 1);
      const more = high !== endMs;
      if (complete && (fresh.length > 0 || !more)) return this.toResult(feed, fresh, more);
      if (!complete) {
        const firstMs = floorSecond(Date.parse(String(feed.entries[0]?.created_at)));
        upperBound = Math.min(upperBound ?? firstMs, firstMs);
      } else {
        low = high ?? low;
      }
      if (last || upperBound === null || step >= MAX_NARROWING) {
        // More than a page of entries within one second: take what ThingSpeak gave and say what was skipped.
        const result = this.toResult(feed, fresh, more);
        if (!complete)
          result.rejected.push({
            reason: `more than ${this.results} entries within one second; older ones were skipped`,
          });
        return result;
      }
      if (upperBound - low <= 1000) {
        high = upperBound;
        last = true;
      } else {
        high = Math.max(low + 1000, floorSecond(low + (upperBound - low) / 2));
      }
    }
  }

  private url(startMs: number | null, endMs: number | null): string {
    const params = new URLSearchParams({ results: String(this.results) });
    if (startMs !== null || endMs !== null) params.set('timezone', 'UTC');
    if (startMs !== null) params.set('start', thingSpeakTime(startMs));
    if (endMs !== null) params.set('end', thingSpeakTime(endMs));
    if (this.config.location) params.set('location', 'true');
    if (this.config.status) params.set('status', 'true');
    if (this.config.apiKey) params.set('api_key', this.config.apiKey);
    return `${this.baseUrl}/channels/${this.config.channelId}/feeds.json?${params}`;
  }

  /** One page; malformed JSON is a rejected page (returned as a PollResult), access and API errors throw. */
  private async request(startMs: number | null, endMs: number | null, ctx: PollContext): Promise<Feed | PollResult> {
    const channel = `ThingSpeak channel ${this.config.channelId}`;
    let body: string;
    try {
      // Never `cacheable`: a poll wants what is new. A dry run may wrap ctx.fetch to ask for the cache.
      body = (await ctx.fetch({ url: this.url(startMs, endMs) }, ctx.signal)).body;
    } catch (error) {
      throw this.explain(error, channel);
    }
    if (body.trim() === '-1') {
      throw new SourceError('http', `${channel} is private or the read API key is wrong (ThingSpeak answered -1)`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return this.rejectedPage(`${channel}: the response is not JSON`, body);
    }
    const apiError = this.apiError(parsed, channel);
    if (apiError) throw apiError;
    const root = parsed as { channel?: unknown; feeds?: unknown };
    if (typeof root !== 'object' || root === null || !Array.isArray(root.feeds)) {
      return this.rejectedPage(`${channel}: the response has no feeds array`, body);
    }
    const labels = new Map<string, string>();
    const channelInfo = (typeof root.channel === 'object' && root.channel !== null ? root.channel : {}) as Record<
      string,
      unknown
    >;
    for (let n = 1; n <= 8; n += 1) {
      const label = channelInfo[`field${n}`];
      if (typeof label === 'string') labels.set(`field${n}`, label);
    }
    const entries = root.feeds.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null);
    // A channel without labels still has the fields its entries carry.
    for (const entry of entries) {
      for (const key of Object.keys(entry)) if (/^field[1-8]$/.test(key) && !labels.has(key)) labels.set(key, key);
    }
    return { labels: new Map([...labels].sort(([a], [b]) => a.localeCompare(b))), entries };
  }

  private explain(error: unknown, channel: string): unknown {
    if (!(error instanceof SourceError) || error.kind !== 'http' || error.body === undefined) return error;
    let parsed: unknown;
    try {
      parsed = JSON.parse(error.body);
    } catch {
      return error;
    }
    return this.apiError(parsed, channel, error.status) ?? error;
  }

  /** ThingSpeak's `{status, error: {error_code, message}}`, as a SourceError naming the code. */
  private apiError(parsed: unknown, channel: string, status?: number): SourceError | null {
    if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return null;
    const { error } = parsed as { error: unknown };
    if (typeof error !== 'object' || error === null) return null;
    const { error_code: code, message } = error as { error_code?: unknown; message?: unknown };
    const httpStatus = status ?? (Number((parsed as { status?: unknown }).status) || undefined);
    return new SourceError(
      'http',
      `${channel}: ThingSpeak error ${String(code ?? 'unknown')}${typeof message === 'string' ? `: ${message}` : ''}`,
      httpStatus === undefined ? {} : { status: httpStatus },
    );
  }

  private rejectedPage(reason: string, body: string): PollResult {
    return { records: [], rejected: [{ reason, sample: sampleOf(body) }], cursor: null, more: false };
  }

  private toResult(feed: Feed, entries: Record<string, unknown>[], more: boolean): PollResult {
    const columns = thingSpeakColumnNames(feed.labels);
    const extras = [
      ...EXTRA_COLUMNS.filter((name) => entries.some((entry) => name in entry)),
      ...(entries.some((entry) => 'status' in entry) ? ['status'] : []),
    ];
    const fields: FieldSpec[] = [
      { name: 'entry_id', type: 'bigint' },
      { name: 'created_at', type: 'timestamp' },
      ...[...columns.values()].map((name): FieldSpec => ({ name, type: 'double' })),
      ...extras.map((name): FieldSpec => ({ name, type: name === 'status' ? 'varchar' : 'double' })),
    ];
    // [key in the entry, column name]
    const typed: (readonly [string, string])[] = [...columns, ...extras.map((name) => [name, name] as const)];
    const records: SourceRecord[] = [];
    const rejected: RejectedInput[] = [];
    let cursor: string | null = null;
    for (const entry of entries) {
      const id = coerceValue(entry.entry_id, 'bigint');
      const at = coerceValue(entry.created_at, 'timestamp');
      if (!id.ok || id.value === null || !at.ok || at.value === null) {
        rejected.push({ reason: 'entry without a valid entry_id and created_at', sample: sampleOf(entry) });
        continue;
      }
      const values: Record<string, unknown> = { entry_id: id.value, created_at: at.value };
      for (const [field, name] of typed) {
        const coerced = coerceValue(entry[field], name === 'status' ? 'varchar' : 'double');
        if (coerced.ok) {
          values[name] = coerced.value;
        } else {
          // The reading is kept without the bad value: one broken sensor must not drop its neighbours'.
          values[name] = null;
          rejected.push({ reason: `entry ${id.value}: ${name}: ${coerced.reason}`, sample: sampleOf(entry) });
        }
      }
      cursor = formatThingSpeakCursor(id.value as number, at.value as string);
      records.push({ key: String(id.value), cursor, values });
    }
    return { records, rejected, cursor, more, fields };
  }
}
