import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { LoginGuard } from '../identity/sessions.js';
import type { Log } from '../logger.js';
import type { AddressRules, RateDecision, RequestLimits } from './auth.js';
import { NetworkRules } from './network-rules.js';
import { LoginLockout, createRateLimiters, ipRateLimitKey, type RateLimiter } from './rate-limit.js';

/**
 * The request guards the auth hook applies, built from config: rate limits and the login lockout (in process, or
 * in Redis so every node shares the budgets), and the instance-wide and per-workspace IP rules.
 */
export interface Guards {
  requestLimits: RequestLimits | null;
  loginGuard: LoginGuard;
  globalNetworkRules: AddressRules | null;
  workspaceNetworkRules(allowJson: string, denyJson: string): AddressRules | null;
  close(): Promise<void>;
}

const UNLIMITED: RateDecision | null = null;
const REDIS_COMMAND_TIMEOUT_MS = 1_000;

export async function createGuards(config: Config, log: Log): Promise<Guards> {
  let redis: Redis | null = null;
  if (config.redisUrl) {
    // Through `default` (its module.exports): ioredis is CommonJS, and the bundle's chunk for a dynamic import of it
    // has only a default export, where Node would also offer the named ones.
    const { Redis: RedisClient } = (await import('ioredis')).default;
    // commandTimeout: a Redis that accepts connections but stops answering must fail over to this node's limits,
    // not hold every request (and every login) until the socket gives up.
    redis = new RedisClient(config.redisUrl, {
      maxRetriesPerRequest: 2,
      enableOfflineQueue: false,
      lazyConnect: true,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    });
    redis.on('error', (e: Error) =>
      log.warn({ err: e }, 'rate-limit Redis connection error (limits fall back to this node)'),
    );
    // Connected before the first request: an unready client would make every node limit on its own.
    await redis.connect();
  }
  const limiters = createRateLimiters(config.rateLimits, redis, config.redisPrefix);
  const consume = (limiter: RateLimiter | null) => (key: string) =>
    limiter ? limiter.consume(key) : Promise.resolve(UNLIMITED);
  const anyLimit = limiters.user || limiters.apiKey || limiters.ip || limiters.login;
  const requestLimits: RequestLimits | null = anyLimit
    ? {
        user: consume(limiters.user),
        apiKey: consume(limiters.apiKey),
        ip: (ip) => consume(limiters.ip)(ipRateLimitKey(ip)),
        login: (ip) => consume(limiters.login)(ipRateLimitKey(ip)),
      }
    : null;

  const global = NetworkRules.parse(config.ipRules.allow, config.ipRules.deny);
  // Workspace rules arrive as the stored JSON with every authenticated request; parsed once per distinct value.
  const parsed = new Map<string, NetworkRules | null>();
  const workspaceNetworkRules = (allowJson: string, denyJson: string): AddressRules | null => {
    if (allowJson === '[]' && denyJson === '[]') return null;
    const key = `${allowJson}\n${denyJson}`;
    let rules = parsed.get(key);
    if (rules === undefined) {
      try {
        rules = NetworkRules.parse(JSON.parse(allowJson) as string[], JSON.parse(denyJson) as string[]);
      } catch (e) {
        // Rules are validated when saved; a row that still fails to parse denies rather than opens.
        log.error({ err: e }, 'stored workspace network rules do not parse; denying');
        rules = NetworkRules.parse([], ['0.0.0.0/0', '::/0']);
      }
      if (parsed.size > 1000) parsed.clear();
      parsed.set(key, rules);
    }
    return rules;
  };

  return {
    requestLimits,
    loginGuard: new LoginLockout(config.rateLimits.lockout, redis, config.redisPrefix, { log }),
    globalNetworkRules: global.isOpen ? null : global,
    workspaceNetworkRules,
    async close() {
      if (redis) await redis.quit().catch(() => redis?.disconnect());
    },
  };
}
