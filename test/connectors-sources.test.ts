import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { Log } from '../src/logger.js';
import { SourceGuard, type SourceGuardOptions } from '../src/connectors/safety.js';
import { SourceError } from '../src/connectors/source-error.js';
import { HttpJsonSource, nextLink } from '../src/connectors/sources/http-json.js';
import {
  parseThingSpeakCursor,
  thingSpeakColumnNames,
  ThingSpeakSource,
} from '../src/connectors/sources/thingspeak.js';
import type { PollContext, PollResult, PollSource } from '../src/connectors/sources/types.js';
import { FakeThingSpeak, thingSpeakError } from './helpers/fake-thingspeak.js';

const silent: Log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

let fake: FakeThingSpeak;
const guards: SourceGuard[] = [];

beforeEach(async () => {
  fake = await FakeThingSpeak.start();
});

afterEach(async () => {
  for (const guard of guards.splice(0)) guard.dispose();
  await fake.close();
});

function context(options: Partial<SourceGuardOptions> = {}): PollContext & { guard: SourceGuard } {
  const guard = new SourceGuard({
    connectorId: 'conn-1',
    // The fake sources listen on loopback.
    network: { allowPrivate: true },
    limiter: null,
    retryInitialDelayMs: 1,
    retryMaxDelayMs: 5,
    ...options,
  });
  guards.push(guard);
  return { guard, fetch: guard.fetch, signal: new AbortController().signal, log: silent };
}

async function failure(promise: Promise<unknown>): Promise<SourceError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

const ids = (result: PollResult): unknown[] => result.records.map((record) => record.values.entry_id);

describe('ThingSpeak source', () => {
  beforeEach(() => {
    fake.addChannel({ id: 42, fields: { 1: 'Temperature (°C)', 2: 'Humidity', 3: '2nd sensor', 4: 'humidity' } });
  });

  it('names columns from the labels and types the string values on the way in', async () => {
    fake.addEntries(42, [
      { at: '2026-12-06T18:00:00Z', fields: { 1: '21.5', 2: '40', 3: '', 4: '1e2' } },
      { at: '2026-12-06T18:00:15Z', fields: { 1: 'abc', 2: '41', 3: '-1.25' } },
    ]);
    const source = new ThingSpeakSource({ channelId: 42, baseUrl: fake.url });
    const result = await source.poll(null, context());
    expect(result.fields).toEqual([
      { name: 'entry_id', type: 'bigint' },
      { name: 'created_at', type: 'timestamp' },
      { name: 'temperature_c', type: 'double' },
      { name: 'humidity', type: 'double' },
      { name: 'f_2nd_sensor', type: 'double' },
      { name: 'humidity_2', type: 'double' },
    ]);
    expect(result.records).toEqual([
      {
        key: '1',
        cursor: '1@2026-12-06T18:00:00.000Z',
        values: {
          entry_id: 1,
          created_at: '2026-12-06T18:00:00.000Z',
          temperature_c: 21.5,
          humidity: 40,
          f_2nd_sensor: null,
          humidity_2: 100,
        },
      },
      {
        key: '2',
        cursor: '2@2026-12-06T18:00:15.000Z',
        values: {
          entry_id: 2,
          created_at: '2026-12-06T18:00:15.000Z',
          temperature_c: null,
          humidity: 41,
          f_2nd_sensor: -1.25,
          humidity_2: null,
        },
      },
    ]);
    // The bad reading is kept as null and counted once, with its reason.
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.reason).toBe("entry 2: temperature_c: 'abc' is not a number");
    expect(result.cursor).toBe('2@2026-12-06T18:00:15.000Z');
    expect(result.more).toBe(false);
    const query = fake.requests[0]!.query;
    expect(query.get('results')).toBe('8000');
    expect(query.has('api_key')).toBe(false);
  });

  it('adds location and status columns when asked for and present', async () => {
    fake.addEntries(42, [
      { fields: { 1: 1 }, extra: { latitude: '52.1', longitude: 'east', elevation: '', status: 'ok' } },
    ]);
    const source = new ThingSpeakSource({ channelId: 42, baseUrl: fake.url, location: true, status: true });
    const result = await source.poll(null, context());
    expect(result.fields!.slice(-4)).toEqual([
      { name: 'latitude', type: 'double' },
      { name: 'longitude', type: 'double' },
      { name: 'elevation', type: 'double' },
      { name: 'status', type: 'varchar' },
    ]);
    expect(result.records[0]!.values).toMatchObject({ latitude: 52.1, longitude: null, elevation: null, status: 'ok' });
    expect(result.rejected.map((r) => r.reason)).toEqual(["entry 1: longitude: 'east' is not a number"]);
    expect(fake.requests[0]!.query.get('location')).toBe('true');
    expect(fake.requests[0]!.query.get('status')).toBe('true');
  });

  it('column names never collide with the fixed columns and fall back to fieldN', () => {
    const names = thingSpeakColumnNames(
      new Map([
        ['field1', 'Entry ID'],
        ['field2', '***'],
        ['field3', 'Status'],
      ]),
    );
    expect([...names.values()]).toEqual(['entry_id_2', 'field2', 'status_2']);
  });

  it('a private channel answers -1 without the key, and reads with it', async () => {
    fake.addChannel({ id: 7, fields: { 1: 'Level' }, readApiKey: 'READKEY123' });
    fake.addEntries(7, [{ fields: { 1: 3 } }]);
    const denied = await failure(new ThingSpeakSource({ channelId: 7, baseUrl: fake.url }).poll(null, context()));
    expect(denied.kind).toBe('http');
    expect(denied.message).toBe(
      'ThingSpeak channel 7 is private or the read API key is wrong (ThingSpeak answered -1)',
    );
    const wrong = await failure(
      new ThingSpeakSource({ channelId: 7, baseUrl: fake.url, apiKey: 'WRONGKEY' }).poll(null, context()),
    );
    expect(wrong.message).not.toContain('WRONGKEY');
    const result = await new ThingSpeakSource({ channelId: 7, baseUrl: fake.url, apiKey: 'READKEY123' }).poll(
      null,
      context(),
    );
    expect(result.records.map((r) => r.values.level)).toEqual([3]);
  });

  it('ThingSpeak error bodies become messages with the error code', async () => {
    const missing = await failure(new ThingSpeakSource({ channelId: 999, baseUrl: fake.url }).poll(null, context()));
    expect(missing).toMatchObject({ kind: 'http', status: 404 });
    expect(missing.message).toBe(
      'ThingSpeak channel 999: ThingSpeak error error_resource_not_found: Resource not found',
    );
    fake.script(thingSpeakError(400, 'error_bad_request', 'Bad request'));
    const bad = await failure(new ThingSpeakSource({ channelId: 42, baseUrl: fake.url }).poll(null, context()));
    expect(bad.message).toContain('error_bad_request: Bad request');
    expect(fake.count()).toBe(2);
  });

  it('malformed JSON is a rejected page, counted, and the next poll goes on', async () => {
    fake.addEntries(42, [{ fields: { 1: 1 } }]);
    fake.script({ kind: 'respond', status: 200, body: '{"channel": {"id": 42' });
    const source = new ThingSpeakSource({ channelId: 42, baseUrl: fake.url });
    const ctx = context();
    const broken = await source.poll(null, ctx);
    expect(broken.records).toEqual([]);
    expect(broken.cursor).toBeNull();
    expect(broken.rejected).toEqual([
      { reason: 'ThingSpeak channel 42: the response is not JSON', sample: '{"channel": {"id": 42' },
    ]);
    expect(ids(await source.poll(null, ctx))).toEqual([1]);
  });

  it('resumes from a stored cursor after a restart with no gap and no duplicate', async () => {
    fake.addEntries(42, [
      { at: '2026-12-06T10:00:00Z', fields: { 1: 1 } },
      { at: '2026-12-06T10:00:01Z', fields: { 1: 2 } },
    ]);
    const before = await new ThingSpeakSource({ channelId: 42, baseUrl: fake.url }).poll(null, context());
    expect(ids(before)).toEqual([1, 2]);
    const stored = JSON.stringify({ cursor: before.cursor });

    // Entries arriving while Weir is down: two in the cursor's own second, then more than a page.
    fake.addEntries(42, [
      { at: '2026-12-06T10:00:01Z', fields: { 1: 3 } },
      { at: '2026-12-06T10:00:01Z', fields: { 1: 4 } },
      ...Array.from({ length: 13 }, (_, i) => ({
        at: new Date(Date.parse('2026-12-06T10:00:05Z') + i * 7000),
        fields: { 1: 5 + i },
      })),
    ]);
    const restarted = new ThingSpeakSource({ channelId: 42, baseUrl: fake.url, results: 4 });
    const ctx = context();
    let cursor = (JSON.parse(stored) as { cursor: string }).cursor;
    const seen: unknown[] = [];
    for (let polls = 0; polls < 20; polls += 1) {
      const page = await restarted.poll(cursor, ctx);
      seen.push(...ids(page));
      if (page.cursor !== null) cursor = page.cursor;
      if (!page.more) break;
    }
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => i + 3));
    expect(parseThingSpeakCursor(cursor).entryId).toBe(17);
    // Nothing new: an empty page, the cursor unchanged.
    const idle = await restarted.poll(cursor, ctx);
    expect(idle).toMatchObject({ records: [], cursor: null, more: false });
  });

  it('backfills a range page by page, narrowing the window when a page is full', async () => {
    const start = Date.parse('2026-11-01T00:00:00Z');
    fake.addEntries(
      42,
      Array.from({ length: 40 }, (_, i) => ({ at: new Date(start + i * 60_000), fields: { 1: i + 1, 2: '' } })),
    );
    const source = new ThingSpeakSource({ channelId: 42, baseUrl: fake.url, results: 8 });
    const range = { from: new Date(start + 5 * 60_000), to: new Date(start + 30 * 60_000) };
    const ctx = context();
    let cursor: string | null = null;
    const seen: unknown[] = [];
    let pages = 0;
    for (; pages < 40; pages += 1) {
      const page = await source.backfill(range, cursor, ctx);
      seen.push(...ids(page));
      if (page.cursor !== null) cursor = page.cursor;
      if (!page.more) break;
    }
    expect(seen).toEqual(Array.from({ length: 26 }, (_, i) => i + 6));
    expect(pages).toBeGreaterThanOrEqual(4);
    for (const request of fake.requests) {
      expect(Date.parse(`${request.query.get('end')!.replace(' ', 'T')}Z`)).toBeLessThanOrEqual(range.to.getTime());
      expect(request.query.get('timezone')).toBe('UTC');
    }
  });

  it('429 with Retry-After: no request reaches the source before the time', async () => {
    fake.addEntries(42, [{ fields: { 1: 1 } }]);
    const clock = new ManualClock(Date.parse('2026-12-06T18:00:00Z'));
    const ctx = context({ clock });
    const source = new ThingSpeakSource({ channelId: 42, baseUrl: fake.url });
    fake.script({ kind: 'respond', status: 429, headers: { 'retry-after': '15' } });
    expect(await failure(source.poll('0@2026-01-01T00:00:00Z', ctx))).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 15_000,
    });
    clock.advance(14_999);
    expect((await failure(source.poll('0@2026-01-01T00:00:00Z', ctx))).kind).toBe('rate_limited');
    expect(fake.count()).toBe(1);
    clock.advance(1);
    expect(ids(await source.poll('0@2026-01-01T00:00:00Z', ctx))).toEqual([1]);
    expect(fake.count()).toBe(2);
  });

  it('a 5xx burst opens the breaker; after the pause a trial succeeds and closes it', async () => {
    fake.addEntries(42, [{ fields: { 1: 1 } }]);
    const states: string[] = [];
    const ctx = context({
      retries: 1,
      breakerThreshold: 4,
      halfOpenAfterMs: 150,
      onStateChange: (s) => states.push(s),
    });
    const source = new ThingSpeakSource({ channelId: 42, baseUrl: fake.url });
    fake.script({ kind: 'respond', status: 503, body: 'overloaded' }, 4);
    expect((await failure(source.poll(null, ctx))).status).toBe(503);
    expect((await failure(source.poll(null, ctx))).status).toBe(503);
    expect(ctx.guard.breakerState()).toBe('open');
    expect((await failure(source.poll(null, ctx))).kind).toBe('breaker_open');
    expect(fake.count()).toBe(4);
    await vi.waitFor(async () => expect(ids(await source.poll(null, ctx))).toEqual([1]), {
      timeout: 5000,
      interval: 20,
    });
    expect(ctx.guard.breakerState()).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('a response slower than the timeout fails as a timeout', async () => {
    fake.addEntries(42, [{ fields: { 1: 1 } }]);
    const ctx = context({ retries: 0, timeoutMs: 100 });
    fake.script({ kind: 'delay', ms: 2000 });
    const error = await failure(new ThingSpeakSource({ channelId: 42, baseUrl: fake.url }).poll(null, ctx));
    expect(error.kind).toBe('timeout');
  });
});

describe('HTTP JSON source', () => {
  const items = Array.from({ length: 7 }, (_, i) => ({
    id: `r${i + 1}`,
    main: { temp: i + 0.5, ok: i % 2 === 0 },
    ts: 1796580000 + i * 60,
  }));
  const fields = [
    { name: 'temp', path: '$.main.temp', type: 'double' as const },
    { name: 'ok', path: 'main.ok', type: 'boolean' as const },
    { name: 'at', path: '$.ts', type: 'timestamp' as const, format: 'epoch_s' as const },
  ];

  async function drain(source: PollSource, ctx: PollContext): Promise<PollResult> {
    return source.poll(null, ctx);
  }

  it('cursor pagination, field mapping, key and cursor paths', async () => {
    fake.route('/cursor', (url) => {
      const after = Number(url.searchParams.get('after') ?? '0');
      const page = items.slice(after, after + 3);
      return { body: { data: { items: page }, next: after + 3 < items.length ? String(after + 3) : null } };
    });
    const source = new HttpJsonSource({
      url: `${fake.url}/cursor`,
      recordsPath: '$.data.items',
      fields,
      keyPath: '$.id',
      cursorPath: '$.ts',
      pagination: { kind: 'cursor', nextPath: '$.next', param: 'after' },
    });
    const result = await drain(source, context());
    expect(result.records).toHaveLength(7);
    expect(result.records[1]).toEqual({
      key: 'r2',
      cursor: '1796580060',
      values: { temp: 1.5, ok: false, at: '2026-12-06T18:01:00.000Z' },
    });
    expect(result.cursor).toBe('1796580360');
    expect(result.more).toBe(false);
    expect(result.fields).toEqual([
      { name: 'temp', type: 'double' },
      { name: 'ok', type: 'boolean' },
      { name: 'at', type: 'timestamp' },
    ]);
    expect(fake.count('/cursor')).toBe(3);
  });

  it('page pagination until an empty page, capped by maxPagesPerPoll', async () => {
    fake.route('/paged', (url) => {
      const page = Number(url.searchParams.get('p'));
      return { body: items.slice(page * 2, page * 2 + 2) };
    });
    const all = await drain(
      new HttpJsonSource({
        url: `${fake.url}/paged`,
        recordsPath: '$',
        fields,
        pagination: { kind: 'page', param: 'p', start: 0 },
      }),
      context(),
    );
    expect(all.records.map((r) => r.values.temp)).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);
    expect(all.more).toBe(false);
    expect(fake.requests.map((r) => r.query.get('p'))).toEqual(['0', '1', '2', '3', '4']);

    const capped = await drain(
      new HttpJsonSource({
        url: `${fake.url}/paged`,
        recordsPath: '$',
        fields,
        pagination: { kind: 'page', param: 'p', start: 0 },
        maxPagesPerPoll: 2,
      }),
      context(),
    );
    expect(capped.records).toHaveLength(4);
    // Without a cursor in the URL another poll would reread the same pages: the rest waits for the next poll.
    expect(capped.more).toBe(false);
  });

  it('more pages than the cap: `more` when the cursor lets the next poll continue', async () => {
    fake.route('/since', (url) => {
      const after = Number(url.searchParams.get('after') || '0');
      const page = Number(url.searchParams.get('page') ?? '1');
      const rows = items.filter((item) => item.ts > after).slice((page - 1) * 2, page * 2);
      return { body: rows };
    });
    const source = new HttpJsonSource({
      url: `${fake.url}/since?after={cursor}`,
      recordsPath: '$',
      fields,
      cursorPath: '$.ts',
      keyPath: '$.id',
      pagination: { kind: 'page', param: 'page' },
      maxPagesPerPoll: 2,
    });
    const ctx = context();
    const keys: unknown[] = [];
    let cursor: string | null = null;
    for (let polls = 0; polls < 10; polls += 1) {
      const result = await source.poll(cursor, ctx);
      keys.push(...result.records.map((record) => record.key));
      cursor = result.cursor ?? cursor;
      if (!result.more) break;
    }
    expect(keys).toEqual(items.map((item) => item.id));
    expect(cursor).toBe(String(items.at(-1)!.ts));
  });

  it('Link header pagination, relative and absolute', async () => {
    fake.route('/linked', (url) => {
      const page = Number(url.searchParams.get('page') ?? '1');
      const link =
        page === 1
          ? '</linked?page=2>; rel="next", </linked?page=3>; rel="last"'
          : page === 2
            ? `<${fake.url}/linked?page=3>; rel="next"`
            : '</linked?page=1>; rel="first"';
      return { headers: { link }, body: { results: items.slice((page - 1) * 3, page * 3) } };
    });
    const result = await drain(
      new HttpJsonSource({ url: `${fake.url}/linked`, recordsPath: 'results', fields, pagination: { kind: 'link' } }),
      context(),
    );
    expect(result.records).toHaveLength(7);
    expect(fake.count('/linked')).toBe(3);
    expect(nextLink('<https://a.test/x?page=2>; rel="prev next"', 'https://a.test/')).toBe('https://a.test/x?page=2');
  });

  it('bad input is data: wrong types, missing fields, non-objects and malformed JSON are counted', async () => {
    // Raw text: 1e400 is valid JSON that parses to Infinity.
    fake.route('/bad', () => ({
      body: '[{"main":{"temp":"hot","ok":"yes"},"ts":1796580000},{"main":{"temp":3}},{"nothing":"mapped"},42,{"main":{"temp":1e400},"ts":"later"}]',
    }));
    const result = await drain(new HttpJsonSource({ url: `${fake.url}/bad`, recordsPath: '$', fields }), context());
    expect(result.records.map((r) => r.values)).toEqual([
      { temp: null, ok: true, at: '2026-12-06T18:00:00.000Z' },
      { temp: 3, ok: null, at: null },
      { temp: null, ok: null, at: null },
    ]);
    expect(result.rejected.map((r) => r.reason)).toEqual([
      'a record is not a JSON object',
      "temp: 'hot' is not a number",
      'none of the mapped fields is in the record',
      'temp: Infinity is not a finite number',
      "at: 'later' is not an epoch time in seconds",
    ]);

    fake.route('/broken', () => ({ body: '[{"a": 1},' }));
    const broken = await drain(new HttpJsonSource({ url: `${fake.url}/broken`, recordsPath: '$', fields }), context());
    expect(broken.records).toEqual([]);
    expect(broken.rejected).toEqual([{ reason: 'the response is not JSON', sample: '[{"a": 1},' }]);

    fake.route('/shape', () => ({ body: { data: 'nope' } }));
    const shape = await drain(
      new HttpJsonSource({ url: `${fake.url}/shape`, recordsPath: '$.data', fields }),
      context(),
    );
    expect(shape.rejected[0]!.reason).toBe('no array at $.data');
  });

  it('sends the cursor in the URL and the auth header, and hides the header value from errors', async () => {
    fake.route('/since', (url, request) =>
      request.headers['x-api-token'] === 'tok-123'
        ? { body: { rows: [{ v: 1, at: url.searchParams.get('after') }] } }
        : { status: 401, body: { error: 'unauthorized' } },
    );
    const config = {
      url: `${fake.url}/since?after={cursor}`,
      auth: { name: 'X-Api-Token', value: 'tok-123' },
      recordsPath: '$.rows',
    };
    const source = new HttpJsonSource(config);
    const result = await source.poll('a b&c', context({ secrets: ['tok-123'] }));
    expect(result.records[0]!.values).toEqual({ v: 1, at: 'a b&c' });
    expect(result.fields).toEqual([
      { name: 'v', type: 'bigint' },
      { name: 'at', type: 'varchar' },
    ]);
    expect(fake.requests[0]!.query.get('after')).toBe('a b&c');

    const denied = await failure(
      new HttpJsonSource({ ...config, auth: { name: 'X-Api-Token', value: 'wrong-secret' } }).poll(
        null,
        context({ secrets: ['wrong-secret'] }),
      ),
    );
    expect(denied).toMatchObject({ kind: 'http', status: 401 });
    expect(`${denied.message}${denied.body}`).not.toContain('wrong-secret');
  });

  it('substitutes the backfill range and refuses a JSON path it cannot parse', async () => {
    fake.route('/range', (url) => ({ body: [{ from: url.searchParams.get('from'), to: url.searchParams.get('to') }] }));
    const source = new HttpJsonSource({ url: `${fake.url}/range?from={from}&to={to}`, recordsPath: '$' });
    const result = await source.backfill(
      { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-02T00:00:00Z') },
      null,
      context(),
    );
    expect(result.records[0]!.values).toEqual({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' });
    expect(() => new HttpJsonSource({ url: fake.url, recordsPath: '$.a[' })).toThrow(SourceError);
  });
});
