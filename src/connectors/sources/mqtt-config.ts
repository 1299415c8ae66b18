import type { MqttPayloadFormat } from './mqtt-payload.js';

/** An MQTT source's settings as a connector stores them, and their validation (pure, for the API's errors). */

export interface MqttSourceConfig {
  /** mqtt://host:port (or mqtts://). */
  url: string;
  /** Topic filters, with + and # wildcards. */
  topics: string[];
  qos: 0 | 1;
  payload: MqttPayloadFormat;
  keyField?: string;
  timestampField?: string;
  username?: string;
  password?: string;
  /** Stable per connector and node: the broker keeps the session (subscriptions, unacked messages) under it. */
  clientId: string;
  /** A share group: every node subscribes to `$share/<group>/<filter>` and the broker splits messages between them. */
  shared?: string | null;
}

/** Why a topic filter is invalid (MQTT v5 §4.7), or null. */
export function topicFilterError(filter: string): string | null {
  if (filter === '') return 'a topic filter must not be empty';
  if (Buffer.byteLength(filter) > 65535) return 'a topic filter must be at most 65,535 bytes';
  if (filter.includes('\u0000')) return 'a topic filter must not contain NUL';
  if (filter.startsWith('$share/')) return "use the 'shared' setting instead of a $share/ filter";
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return "'#' must be a whole level and the last one";
    }
    if (level.includes('+') && level !== '+') return "'+' must be a whole level";
  }
  return null;
}

/** Every problem with a config, for the API's validation errors; empty when it is usable. */
export function mqttSourceConfigErrors(config: MqttSourceConfig): string[] {
  const problems: string[] = [];
  if (!/^mqtts?:\/\//.test(config.url)) problems.push('url must start with mqtt:// or mqtts://');
  // The url is stored and answered as it is; only the password field is sealed.
  else if (/^mqtts?:\/\/[^/?#]*@/.test(config.url))
    problems.push('url must not carry a user name or password: give them as username and password');
  if (config.topics.length === 0) problems.push('at least one topic filter is needed');
  for (const topic of config.topics) {
    const error = topicFilterError(topic);
    if (error !== null) problems.push(`topic '${topic.slice(0, 80)}': ${error}`);
  }
  if (config.clientId === '' || Buffer.byteLength(config.clientId) > 65535)
    problems.push('clientId must be 1-65,535 bytes');
  if (config.shared !== undefined && config.shared !== null && !/^[^/+#]+$/.test(config.shared)) {
    problems.push('shared must be a non-empty group name without /, + or #');
  }
  return problems;
}

/** The filters as subscribed: `$share/<group>/<filter>` in a share group. */
export function subscriptionFilters(config: Pick<MqttSourceConfig, 'topics' | 'shared'>): string[] {
  return config.shared ? config.topics.map((t) => `$share/${config.shared}/${t}`) : [...config.topics];
}
