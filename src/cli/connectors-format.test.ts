import { describe, expect, it } from 'vitest';
import {
  configFromFlags,
  connectorsTable,
  describeConnector,
  formatLag,
  latestLines,
  parseFieldList,
  parseFieldMapping,
  recordLine,
  sampleTable,
  stateLabel,
  syncLine,
  syncsTable,
  type ConnectorWire,
  type SyncWire,
} from './connectors-format.js';
import { CONNECTORS, looksLikeId } from './resolve.js';

const health: ConnectorWire['health'] = {
  breaker: 'closed',
  consecutiveFailures: 0,
  lastSyncAt: null,
  lastSuccessAt: null,
  lastRecordAt: null,
  lastError: null,
  stale: false,
  lagSeconds: null,
  rateLimit: null,
  stream: null,
  pendingRecords: 0,
};

function connector(over: Partial<ConnectorWire> = {}): ConnectorWire {
  return {
    id: 'con_01J00000000000000000000001',
    workspaceId: 'ws_default',
    name: 'greenhouse',
    description: '',
    type: 'thingspeak',
    config: { channelId: 12397, results: 100 },
    secrets: [],
    fields: [
      { name: 'at', type: 'timestamp' },
      { name: 'temp', type: 'double' },
    ],
    schedule: '*/5 * * * *',
    nextSyncAt: null,
    safety: {},
    live: {},
    datasetId: 'ds_01J00000000000000000000001',
    datasetName: 'greenhouse',
    state: 'active',
    pausedReason: null,
    cursor: '1042',
    health,
    createdAt: 'not a date',
    updatedAt: 'not a date',
    ...over,
  };
}

const sync: SyncWire = {
  id: 'cs_01J00000000000000000000001',
  connectorId: 'con_01J00000000000000000000001',
  trigger: 'manual',
  status: 'partial',
  records: 98,
  duplicates: 2,
  rejected: 3,
  errors: [{ reason: 'field2: "abc" is not a number', sample: '{"field2":"abc"}' }, { reason: 'missing created_at' }],
  cursorFrom: '1000',
  cursorTo: '1100',
  startedAt: 'not a date',
  durationMs: 1530,
};

describe('connectors output', () => {
  it('says how long ago the last record came, in the unit that reads best', () => {
    expect(formatLag(null)).toBe('-');
    expect(formatLag(42.4)).toBe('42 s');
    expect(formatLag(600)).toBe('10 min');
    expect(formatLag(7260)).toBe('2 h 1 min');
    expect(formatLag(3 * 86_400 + 7200)).toBe('3 d 2 h');
    expect(formatLag(-3)).toBe('0 s');
  });

  it('puts what needs a look in the state: paused and why, an open breaker, staleness', () => {
    expect(stateLabel(connector())).toBe('active');
    expect(
      stateLabel(
        connector({
          state: 'paused',
          pausedReason: '5 failures in a row',
          health: { ...health, breaker: 'open', stale: true },
        }),
      ),
    ).toBe('paused (5 failures in a row), breaker open, stale');
    expect(stateLabel(connector({ state: 'paused', pausedReason: null }))).toBe('paused');
  });

  it('lists connectors with breaker, last sync, lag and rate-limit use, safe for the terminal', () => {
    const rows = connectorsTable([
      connector({
        name: 'green\u001b[2Jhouse',
        health: { ...health, lastSyncAt: 'not a date', lagSeconds: 90, rateLimit: { used: 12, limit: 15 } },
      }),
      connector({ id: 'con_01J00000000000000000000002', name: 'door', type: 'push' }),
    ]).split('\n');
    expect(rows).toEqual([
      'ID                              NAME                 TYPE        STATE   BREAKER  LAST SYNC    LAG   RATE',
      'con_01J00000000000000000000001  green\\u001b[2Jhouse  thingspeak  active  closed   not a date  90 s  12/15',
      'con_01J00000000000000000000002  door                 push        active  closed   -              -      -',
    ]);
  });

  it('shows a connector with its secrets named, never their values, and its source settings', () => {
    const text = describeConnector(
      connector({ secrets: ['apiKey'], health: { ...health, consecutiveFailures: 2, lastError: 'HTTP 503' } }),
    );
    expect(text).toContain('breaker       closed (2 failures in a row)');
    expect(text).toContain('secrets       apiKey (set, never shown)');
    expect(text).toContain('last error    HTTP 503');
    expect(text).toContain('  channelId   12397');
    expect(text).toContain('fields        at:timestamp, temp:double');
  });

  it('prints sync history with counts, cursor range and the first error', () => {
    expect(syncsTable([sync]).split('\n')).toEqual([
      'STARTED     TRIGGER  STATUS   RECORDS  DUPLICATES  REJECTED  DURATION  CURSOR      ERROR',
      'not a date  manual   partial       98           2         3     1.5 s  1000..1100  field2: "abc" is not a number (+1)',
    ]);
    expect(syncLine(sync)).toBe('sync partial in 1.5 s: 98 new, 2 duplicates, 3 rejected; cursor now 1100');
  });

  it("shows a sample in the fields' order, numbers to the right, extra keys after, NULL for a missing value", () => {
    const table = sampleTable(
      [
        { name: 'at', type: 'timestamp' },
        { name: 'temp', type: 'double' },
      ],
      [
        { temp: 21.5, at: '2026-12-06T10:00:00Z', note: 'ok' },
        { at: '2026-12-06T10:01:00Z', temp: null },
      ],
    );
    expect(table.split('\n')).toEqual([
      'at                    temp  note',
      '2026-12-06T10:00:00Z  21.5  ok',
      '2026-12-06T10:01:00Z  NULL  NULL',
    ]);
  });

  it('prints the latest value per field under the time they are from, even with a field named at', () => {
    expect(
      latestLines({ connectorId: 'c', at: 'not a date', values: { at: '2026-12-06T10:00:00Z', temp: 21.5 } }),
    ).toBe('as of not a date\nat    2026-12-06T10:00:00Z\ntemp  21.5');
    expect(latestLines({ connectorId: 'c', at: null, values: {} })).toBe('no values yet');
  });

  it('prints a tail record on one line, quoting strings with spaces', () => {
    expect(recordLine({ at: '2026-12-06T10:00:00Z', temp: 21.25, room: 'living room', on: true })).toBe(
      'at=2026-12-06T10:00:00Z temp=21.25 room="living room" on=true',
    );
  });

  it('reads --fields and refuses a bad name, an unknown type or a name given twice', () => {
    expect(parseFieldList('at:timestamp, temp:double,n:bigint')).toEqual([
      { name: 'at', type: 'timestamp' },
      { name: 'temp', type: 'double' },
      { name: 'n', type: 'bigint' },
    ]);
    expect(() => parseFieldList('1x:double')).toThrow('"1x:double": expected name:type');
    expect(() => parseFieldList('temp:float')).toThrow('the type must be one of double, bigint');
    expect(() => parseFieldList('a:double,a:bigint')).toThrow('"a" is named twice');
    expect(() => parseFieldList(' , ')).toThrow('expected name:type pairs');
  });

  it('reads an HTTP field mapping with its optional time format', () => {
    expect(parseFieldMapping('temp=$.main.temp:double')).toEqual({ name: 'temp', path: '$.main.temp', type: 'double' });
    expect(parseFieldMapping('at=$.dt:timestamp:epoch_s')).toEqual({
      name: 'at',
      path: '$.dt',
      type: 'timestamp',
      format: 'epoch_s',
    });
    expect(() => parseFieldMapping('temp=main.temp:double')).toThrow('expected name=$.json.path:type');
  });

  it("lays the type's flags over a config file, ignoring other types' flags", () => {
    expect(configFromFlags('thingspeak', { channel: 12397, topic: ['x'] }, { results: 50, channelId: 1 })).toEqual({
      results: 50,
      channelId: 12397,
    });
    expect(configFromFlags('mqtt', { sourceUrl: 'mqtt://127.0.0.1:1883', topic: ['a/+', 'b/#'], qos: 1 })).toEqual({
      url: 'mqtt://127.0.0.1:1883',
      topics: ['a/+', 'b/#'],
      qos: 1,
    });
    expect(
      configFromFlags('http', {
        sourceUrl: 'http://127.0.0.1/x?since={cursor}',
        recordsPath: '$.items',
        map: [{ name: 't', path: '$.t', type: 'double' }],
        authHeader: 'Authorization: Bearer abc:def',
      }),
    ).toEqual({
      url: 'http://127.0.0.1/x?since={cursor}',
      recordsPath: '$.items',
      fields: [{ name: 't', path: '$.t', type: 'double' }],
      authHeader: { name: 'Authorization', value: 'Bearer abc:def' },
    });
    expect(() => configFromFlags('http', { authHeader: 'no colon' })).toThrow('--auth-header');
    expect(configFromFlags('push', { keyField: 'id', channel: 3 })).toEqual({ keyField: 'id' });
  });

  it('takes con_ ids as connector ids and anything else as a name', () => {
    expect(looksLikeId(CONNECTORS, 'con_01J00000000000000000000001')).toBe(true);
    expect(looksLikeId(CONNECTORS, 'greenhouse')).toBe(false);
  });
});
