import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Redis } from 'ioredis';
import { AppError } from '../../errors.js';
import type { Log } from '../../logger.js';
import type { ConnectorMetrics } from '../metrics.js';
import { SECRET_PATHS, type ConnectorType, type StoredConnector } from '../model.js';
import { isPrivateAddress } from '../outbound.js';
import { createSourceLimiter, SourceGuard, type BreakerState } from '../safety.js';
import { SourceResponseCache } from '../response-cache.js';
import { SourceError } from '../source-error.js';
import { HttpJsonSource, type HttpJsonConfig } from './http-json.js';
import type { MqttSourceStatus } from './mqtt.js';
import { ThingSpeakSource } from './thingspeak.js';
import type { GuardedFetch, PollSource, StreamSource } from './types.js';

/** A connector's secrets by their config path (`apiKey`, `authHeader.value`, `password`). */
export type SourceSecrets = Record<string, string>;

/** Takes the secrets out of a source config: the config is stored as it is, the secrets sealed apart. */
export function splitSecrets(
  type: ConnectorType,
  given: Record<string, unknown>,
): { config: Record<string, unknown>; secrets: SourceSecrets } {
  const config = structuredClone(given);
  const secrets: SourceSecrets = {};
  for (const path of SECRET_PATHS[type]) {
    let holder: Record<string, unknown> | undefined = config;
    for (const key of path.slice(0, -1)) holder = holder?.[key] as Record<string, unknown> | undefined;
    const last = path.at(-1)!;
    const value = holder?.[last];
    if (holder && typeof value === 'string') {
      secrets[path.join('.')] = value;
      delete holder[last];
    }
  }
  return { config, secrets };
}

/** The one response cache of this process: every connector's guard shares it (bounded by entries). */
const sharedCache = new SourceResponseCache(1000);

/** A connector's safety layer: its rate limit (shared through Redis in cluster mode), breaker, retries, cache. */
export function createGuard(o: {
  connector: Pick<StoredConnector, 'id' | 'safety'>;
  redis: Redis | null;
  redisPrefix: string;
  allowPrivateNetworks: boolean;
  secrets?: SourceSecrets;
  log?: Log;
  onBreaker?: (state: BreakerState) => void;
}): SourceGuard {
  const s = o.connector.safety;
  return new SourceGuard({
    connectorId: o.connector.id,
    network: { allowPrivate: o.allowPrivateNetworks },
    limiter: createSourceLimiter({
      redis: o.redis,
      keyPrefix: `${o.redisPrefix}:connectors:rl`,
      requestsPerMinute: s.requestsPerMinute,
    }),
    timeoutMs: s.timeoutMs,
    retries: s.retries,
    breakerThreshold: s.breakerFailures,
    halfOpenAfterMs: s.breakerResetMs,
    cacheTtlMs: s.cacheTtlMs,
    cache: sharedCache,
    secrets: Object.values(o.secrets ?? {}),
    log: o.log,
    onStateChange: (state) => o.onBreaker?.(state),
  });
}

/** The guard's fetch, counted in the connector metrics: requests by outcome, cache lookups by result. */
export function instrumented(fetch: GuardedFetch, metrics: ConnectorMetrics, connectorId: string): GuardedFetch {
  return async (request, signal) => {
    try {
      const response = await fetch(request, signal);
      if (request.cacheable) metrics.cacheLookup(connectorId, response.fromCache);
      if (!response.fromCache) metrics.request(connectorId, response.status < 400 ? 'ok' : 'http_error');
      return response;
    } catch (e) {
      metrics.request(connectorId, e instanceof SourceError ? e.kind : 'network');
      throw e;
    }
  };
}

/** The poll source of a ThingSpeak or HTTP JSON connector. */
export function pollSourceFor(c: Pick<StoredConnector, 'type' | 'config'>, secrets: SourceSecrets): PollSource {
  const cfg = c.config;
  if (c.type === 'thingspeak')
    return new ThingSpeakSource({
      channelId: cfg.channelId as number,
      baseUrl: cfg.baseUrl as string | undefined,
      results: cfg.results as number | undefined,
      apiKey: secrets.apiKey,
    });
  if (c.type === 'http') {
    const header = cfg.authHeader as { name: string } | undefined;
    return new HttpJsonSource({
      url: cfg.url as string,
      recordsPath: cfg.recordsPath as string,
      fields: cfg.fields as HttpJsonConfig['fields'],
      keyPath: cfg.keyPath as string | undefined,
      cursorPath: cfg.cursorPath as string | undefined,
      pagination: cfg.pagination as HttpJsonConfig['pagination'],
      maxPagesPerPoll: cfg.maxPages as number | undefined,
      auth:
        header && secrets['authHeader.value'] ? { name: header.name, value: secrets['authHeader.value'] } : undefined,
    });
  }
  throw new Error(`a ${c.type} connector is not polled`);
}

/**
 * The stream source of an MQTT connector. MQTT.js is loaded on the first subscription: processes without an MQTT
 * connector (job workers, most API nodes) do without it at start-up.
 */
export async function streamSourceFor(
  c: Pick<StoredConnector, 'type' | 'config'>,
  secrets: SourceSecrets,
  o: {
    clientId: string;
    shared: string | null;
    log: Log;
    allowPrivateNetworks: boolean;
    onStatus?: (status: MqttSourceStatus) => void;
  },
): Promise<StreamSource> {
  if (c.type !== 'mqtt') throw new Error(`a ${c.type} connector is not a stream`);
  const cfg = c.config;
  const { MqttSource } = await import('./mqtt.js');
  return new MqttSource(
    {
      url: cfg.url as string,
      topics: cfg.topics as string[],
      qos: (cfg.qos as 0 | 1 | undefined) ?? 1,
      payload: (cfg.payload as 'json' | 'kv' | 'auto' | undefined) ?? 'auto',
      keyField: cfg.keyField as string | undefined,
      timestampField: cfg.timestampField as string | undefined,
      username: cfg.username as string | undefined,
      password: secrets.password,
      clientId: o.clientId,
      shared: o.shared,
    },
    { log: o.log, network: { allowPrivate: o.allowPrivateNetworks }, onStatus: o.onStatus },
  );
}

/**
 * A friendly refusal at create and dry-run time, with a pointer to the field; every connection is checked again where
 * it is made (outbound.ts), so a name that later resolves elsewhere or a redirect gains nothing.
 */
export async function assertReachable(url: string, pointer: string): Promise<void> {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    throw new AppError('validation_failed', 'The address is not a URL', [{ pointer, message: 'not a URL' }]);
  }
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true }).catch(() => {
        throw new AppError('validation_failed', `The host '${host}' does not resolve`, [
          { pointer, message: 'the host name does not resolve' },
        ]);
      });
  for (const a of addresses)
    if (isPrivateAddress(a.address, a.family))
      throw new AppError(
        'validation_failed',
        `The source address ${host} is on a private or loopback network, which connectors may not reach (WEIR_CONNECTORS_ALLOW_PRIVATE)`,
        [{ pointer, message: 'a private, loopback or link-local address' }],
      );
}
