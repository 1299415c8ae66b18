import { describe, expect, it } from 'vitest';
import {
  MqttSource,
  mqttSourceConfigErrors,
  subscriptionFilters,
  topicFilterError,
  type MqttSourceConfig,
} from './mqtt.js';

const config = (overrides: Partial<MqttSourceConfig> = {}): MqttSourceConfig => ({
  url: 'mqtt://127.0.0.1:1883',
  topics: ['site/+/temp'],
  qos: 1,
  payload: 'auto',
  clientId: 'weir-c1-node1',
  ...overrides,
});

describe('MQTT topic filters', () => {
  it.each(['a/b', 'a/+/c', '+', '#', 'a/#', '+/+/#', '/a', 'a//b', '$SYS/broker/#'])('accepts %j', (filter) => {
    expect(topicFilterError(filter)).toBeNull();
  });

  it.each([
    ['', /empty/],
    ['a/#/b', /'#' must be a whole level and the last one/],
    ['a#', /'#' must be a whole level/],
    ['a/b+', /'\+' must be a whole level/],
    ['a/\u0000', /NUL/],
    ['$share/g/a', /'shared' setting/],
  ])('rejects %j', (filter, reason) => {
    expect(topicFilterError(filter)).toMatch(reason);
  });
});

describe('MQTT source config', () => {
  it('is usable as given', () => {
    expect(mqttSourceConfigErrors(config())).toEqual([]);
  });

  it('lists every problem', () => {
    expect(mqttSourceConfigErrors(config({ url: 'http://x', topics: ['a/#/b'], clientId: '', shared: 'a/b' }))).toEqual(
      [
        'url must start with mqtt:// or mqtts://',
        "topic 'a/#/b': '#' must be a whole level and the last one",
        'clientId must be 1-65,535 bytes',
        'shared must be a non-empty group name without /, + or #',
      ],
    );
    expect(mqttSourceConfigErrors(config({ topics: [] }))).toEqual(['at least one topic filter is needed']);
    // The url is stored and answered unsealed: credentials belong in username and password.
    expect(mqttSourceConfigErrors(config({ url: 'mqtt://sensor:hunter2@broker.example:1883' }))).toEqual([
      'url must not carry a user name or password: give them as username and password',
    ]);
    expect(mqttSourceConfigErrors(config({ url: 'mqtt://broker.example/x@y' }))).toEqual([]);
  });

  it('refuses to build a source from an invalid config, without echoing the password', () => {
    expect(
      () =>
        new MqttSource(config({ topics: ['#/x'], password: 'hunter2' }), {
          log: console,
          network: { allowPrivate: true },
        }),
    ).toThrow(/invalid MQTT source: topic '#\/x'/);
    try {
      new MqttSource(config({ topics: ['#/x'], password: 'hunter2' }), {
        log: console,
        network: { allowPrivate: true },
      });
    } catch (e) {
      expect(String(e)).not.toContain('hunter2');
    }
  });

  it('prefixes the filters with $share/<group>/ in a share group', () => {
    expect(subscriptionFilters({ topics: ['a/#', 'b/+'], shared: 'weir' })).toEqual([
      '$share/weir/a/#',
      '$share/weir/b/+',
    ]);
    expect(subscriptionFilters({ topics: ['a/#'], shared: null })).toEqual(['a/#']);
    expect(subscriptionFilters({ topics: ['a/#'] })).toEqual(['a/#']);
  });
});
