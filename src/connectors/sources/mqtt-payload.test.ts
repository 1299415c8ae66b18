import { describe, expect, it } from 'vitest';
import { parseMqttPayload, type MqttPayloadOptions } from './mqtt-payload.js';
import type { RejectedInput, SourceRecord } from './types.js';

const parse = (payload: string | Buffer, opts: Partial<MqttPayloadOptions> = {}): SourceRecord | RejectedInput =>
  parseMqttPayload('site/a/temp', Buffer.isBuffer(payload) ? payload : Buffer.from(payload), {
    format: 'auto',
    ...opts,
  });

function record(result: SourceRecord | RejectedInput): SourceRecord {
  if ('reason' in result) throw new Error(`expected a record, got rejected: ${result.reason}`);
  return result;
}

function rejection(result: SourceRecord | RejectedInput): RejectedInput {
  if (!('reason' in result)) throw new Error(`expected a rejection, got ${JSON.stringify(result.values)}`);
  return result;
}

describe('parseMqttPayload: JSON', () => {
  it('takes a flat object and adds the topic', () => {
    expect(record(parse('{"temp": 21.5, "ok": true, "name": "x"}'))).toEqual({
      key: null,
      cursor: null,
      values: { temp: 21.5, ok: true, name: 'x', topic: 'site/a/temp' },
    });
  });

  it('flattens nested objects with _ and keeps arrays as JSON text', () => {
    expect(record(parse('{"a": {"b": 1, "c": {"d": "x"}}, "list": [1, 2], "n": null}')).values).toEqual({
      a_b: 1,
      a_c_d: 'x',
      list: '[1,2]',
      n: null,
      topic: 'site/a/temp',
    });
  });

  it('keeps objects nested beyond the depth cap as text, and rejects absurd nesting instead of overflowing', () => {
    const nested = (levels: number): string => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    const values = record(parse(nested(40))).values;
    const [column] = Object.keys(values);
    expect(column?.split('_')).toHaveLength(17);
    expect(JSON.parse(String(values[column ?? '']))).toBeTypeOf('object');
    expect(rejection(parse(nested(40_000))).reason).toMatch(/nested too deeply|invalid JSON/);
  });

  it('turns a bare number or string into { value }', () => {
    expect(record(parse('23.5')).values).toEqual({ value: 23.5, topic: 'site/a/temp' });
    expect(record(parse('"on"', { format: 'json' })).values).toEqual({ value: 'on', topic: 'site/a/temp' });
  });

  it('rejects arrays, null and invalid JSON in json mode', () => {
    expect(rejection(parse('[1,2]', { format: 'json' })).reason).toMatch(/array/);
    expect(rejection(parse('null', { format: 'json' })).reason).toMatch(/null/);
    expect(rejection(parse('{"a":', { format: 'json' })).reason).toMatch(/invalid JSON/);
    expect(rejection(parse('temp=1', { format: 'json' })).reason).toMatch(/invalid JSON/);
  });
});

describe('parseMqttPayload: key=value', () => {
  it.each([
    ['temp=21.5&hum=40'],
    ['temp=21.5,hum=40'],
    ['temp=21.5;hum=40'],
    ['temp=21.5 hum=40'],
    ['  temp=21.5 ;  hum=40\n'],
  ])('reads %j with typed numbers', (payload) => {
    expect(record(parse(payload, { format: 'kv' })).values).toEqual({ temp: 21.5, hum: 40, topic: 'site/a/temp' });
  });

  it('types booleans, keeps other text and decodes percent-escapes', () => {
    expect(record(parse('on=true&mode=eco%20plus&id=0x1F&v=-1.5e3', { format: 'kv' })).values).toEqual({
      on: true,
      mode: 'eco plus',
      id: '0x1F',
      v: -1500,
      topic: 'site/a/temp',
    });
  });

  it('keeps a stray % as it is', () => {
    expect(record(parse('level=50%', { format: 'kv' })).values).toMatchObject({ level: '50%' });
  });

  it('rejects text that is not pairs', () => {
    expect(rejection(parse('hello world', { format: 'kv' })).reason).toMatch(/not a key=value pair/);
    expect(rejection(parse('=1', { format: 'kv' })).reason).toMatch(/not a key=value pair/);
  });
});

describe('parseMqttPayload: auto, keys, timestamps, limits', () => {
  it('tries JSON first, then key=value', () => {
    expect(record(parse('{"t": 1}')).values).toMatchObject({ t: 1 });
    expect(record(parse('t=1')).values).toMatchObject({ t: 1 });
  });

  it('rejects what is neither, with both reasons and a 200-character sample', () => {
    const payload = `garbage ${'x'.repeat(500)}`;
    const rejected = rejection(parse(payload));
    expect(rejected.reason).toMatch(/neither JSON .* nor key=value pairs/);
    expect(rejected.sample).toBe(payload.slice(0, 200));
  });

  it('rejects an empty payload', () => {
    expect(rejection(parse('')).reason).toBe('empty payload');
    expect(rejection(parse('  \n')).reason).toBe('empty payload');
  });

  it('rejects a payload over the cap without parsing it', () => {
    const big = Buffer.from(JSON.stringify({ v: 'x'.repeat(300 * 1024) }));
    const rejected = rejection(parse(big));
    expect(rejected.reason).toMatch(/over the 262144-byte cap/);
    expect(rejected.sample).toHaveLength(200);
    expect(rejection(parse('{"v": 12345}', { maxBytes: 8 })).reason).toMatch(/over the 8-byte cap/);
  });

  it('survives bytes that are not UTF-8', () => {
    const rejected = rejection(parse(Buffer.from([0xff, 0xfe, 0x00, 0x41])));
    expect(rejected.reason).toMatch(/neither/);
  });

  it('takes the dedupe key from keyField, null when it is absent (never the packet id)', () => {
    expect(record(parse('{"id": 42, "v": 1}', { keyField: 'id' })).key).toBe('42');
    expect(record(parse('{"dev": {"seq": "a-7"}}', { keyField: 'dev_seq' })).key).toBe('a-7');
    expect(record(parse('seq=9&v=1', { keyField: 'seq' })).key).toBe('9');
    expect(record(parse('{"v": 1}', { keyField: 'id' })).key).toBeNull();
    expect(record(parse('{"id": 1}')).key).toBeNull();
  });

  it('normalizes the timestamp field to ISO from ISO text, epoch seconds or epoch milliseconds', () => {
    const iso = '2026-12-06T10:00:00.000Z';
    for (const ts of [`"${iso}"`, '"2026-12-06T11:00:00+01:00"', '1796551200', '1796551200000', '"1796551200"']) {
      expect(record(parse(`{"ts": ${ts}}`, { timestampField: 'ts' })).values.ts).toBe(iso);
    }
  });

  it('rejects a record whose timestamp field is missing or not a time', () => {
    expect(rejection(parse('{"v": 1}', { timestampField: 'ts' })).reason).toMatch(/timestamp field 'ts'/);
    expect(rejection(parse('{"ts": "soon"}', { timestampField: 'ts' })).reason).toMatch(/not a time/);
    expect(rejection(parse('{"ts": true}', { timestampField: 'ts' })).reason).toMatch(/not a time/);
  });

  it('lets the MQTT topic win over a payload field named topic', () => {
    expect(record(parse('{"topic": "spoofed", "v": 1}')).values.topic).toBe('site/a/temp');
  });
});
