import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LoginLockoutConfig } from '../config.js';
import { ipRateLimitKey } from './network-rules.js';

/**
 * Exponential lockout after failed logins, counted per account and, separately, per client IP.
 *
 * Per key: `threshold` failures within `window` (counted from the window's first failure) lock the key for
 * base · 2^n (capped at max), n = locks so far; the lock ends by itself and the failure count starts again.
 * A key's whole history (and so n) is forgotten after a quiet `history` period (default 24 h).
 *
 * The memory and Redis stores run the same state machine (`applyFailure` below and FAIL_SCRIPT, which mirrors it);
 * the Redis one runs as one Lua script per call, so concurrent nodes cannot both miss or double-count a lock.
 * Times are the caller's clock (passed into the script): API nodes are NTP-synced, and lock lengths are seconds to
 * hours, so skew of a few ms does not matter, while tests can drive both stores with a fake clock.
 */

export interface LockoutStatus {
  locked: boolean;
  /** Seconds until the longest of the account's and the IP's locks ends; 0 when not locked. */
  retryAfterSeconds: number;
}

interface Policy {
  threshold: number;
  windowMs: number;
  baseMs: number;
  maxMs: number;
  historyMs: number;
}

interface LockState {
  failures: number;
  windowEndsAt: number;
  locks: number;
  lockedUntil: number;
}

/** One key's next state after a failed login; mutates and returns `s`. */
function applyFailure(s: LockState, now: number, p: Policy): LockState {
  // Failures while locked are not counted: the caller refuses locked logins before checking the password.
  if (s.lockedUntil > now) return s;
  if (s.windowEndsAt <= now) {
    s.failures = 0;
    s.windowEndsAt = now + p.windowMs;
  }
  s.failures += 1;
  if (s.failures >= p.threshold) {
    s.lockedUntil = now + Math.min(p.baseMs * 2 ** Math.min(s.locks, 40), p.maxMs);
    s.locks += 1;
    s.failures = 0;
    s.windowEndsAt = 0;
  }
  return s;
}

interface LockoutStore {
  /** Records a failure on each key (its own threshold); returns each key's remaining lock in ms (0 = not locked). */
  fail(keys: readonly string[], thresholds: readonly number[], now: number, p: Omit<Policy, 'threshold'>): Promise<number[]>;
  lockedMs(keys: readonly string[], now: number): Promise<number[]>;
  clear(key: string): Promise<void>;
}

class MemoryLockoutStore implements LockoutStore {
  /** Insertion order = order of last write, and expiry = last write + history, so expired entries sit at the front. */
  private readonly entries = new Map<string, LockState & { expiresAt: number }>();

  private live(key: string, now: number): (LockState & { expiresAt: number }) | undefined {
    const e = this.entries.get(key);
    return e !== undefined && e.expiresAt > now ? e : undefined;
  }

  private sweep(now: number): void {
    for (const [key, e] of this.entries) {
      if (e.expiresAt > now) break;
      this.entries.delete(key);
    }
  }

  fail(keys: readonly string[], thresholds: readonly number[], now: number, p: Omit<Policy, 'threshold'>): Promise<number[]> {
    this.sweep(now);
    const out = keys.map((key, i) => {
      const s = this.live(key, now) ?? { failures: 0, windowEndsAt: 0, locks: 0, lockedUntil: 0, expiresAt: 0 };
      applyFailure(s, now, { ...p, threshold: thresholds[i]! });
      s.expiresAt = now + p.historyMs;
      this.entries.delete(key);
      this.entries.set(key, s);
      return Math.max(0, s.lockedUntil - now);
    });
    return Promise.resolve(out);
  }

  lockedMs(keys: readonly string[], now: number): Promise<number[]> {
    return Promise.resolve(keys.map((key) => Math.max(0, (this.live(key, now)?.lockedUntil ?? 0) - now)));
  }

  clear(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }
}

// KEYS: the keys. ARGV: now, windowMs, baseMs, maxMs, historyMs, then one threshold per key. Mirrors applyFailure.
const FAIL_SCRIPT = `
local now, window, base, max, history = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
for i, key in ipairs(KEYS) do
  local threshold = tonumber(ARGV[5 + i])
  local v = redis.call('HMGET', key, 'f', 'fx', 'n', 'lu')
  local f, fx, n, lu = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
  if lu <= now then
    if fx <= now then f = 0; fx = now + window end
    f = f + 1
    if f >= threshold then
      lu = now + math.min(base * 2 ^ math.min(n, 40), max)
      n = n + 1; f = 0; fx = 0
    end
    redis.call('HSET', key, 'f', f, 'fx', fx, 'n', n, 'lu', lu)
    redis.call('PEXPIRE', key, history)
  end
  out[i] = math.max(0, lu - now)
end
return out
`;

// KEYS: the keys. ARGV: now.
const CHECK_SCRIPT = `
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = math.max(0, (tonumber(redis.call('HGET', key, 'lu')) or 0) - now)
end
return out
`;

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

class RedisLockoutStore implements LockoutStore {
  private readonly failSha = sha1(FAIL_SCRIPT);
  private readonly checkSha = sha1(CHECK_SCRIPT);

  constructor(private readonly redis: Redis) {}

  /** EVALSHA, loading the script on NOSCRIPT (first use, or after a Redis restart or SCRIPT FLUSH). */
  private async run(script: string, sha: string, keys: readonly string[], args: readonly (string | number)[]): Promise<number[]> {
    try {
      return (await this.redis.evalsha(sha, keys.length, ...keys, ...args)) as number[];
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return (await this.redis.eval(script, keys.length, ...keys, ...args)) as number[];
    }
  }

  fail(keys: readonly string[], thresholds: readonly number[], now: number, p: Omit<Policy, 'threshold'>): Promise<number[]> {
    return this.run(FAIL_SCRIPT, this.failSha, keys, [now, p.windowMs, p.baseMs, p.maxMs, p.historyMs, ...thresholds]);
  }

  lockedMs(keys: readonly string[], now: number): Promise<number[]> {
    return this.run(CHECK_SCRIPT, this.checkSha, keys, [now]);
  }

  async clear(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

export interface LoginLockoutOptions {
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
  /** Quiet time after which a key's lock count is forgotten; at least max lock + window. Default 24 h. */
  historySeconds?: number;
}

export class LoginLockout {
  private readonly store: LockoutStore;
  private readonly now: () => number;
  private readonly policy: Omit<Policy, 'threshold'>;

  constructor(private readonly config: LoginLockoutConfig, redis: Redis | null, private readonly prefix: string, options: LoginLockoutOptions = {}) {
    this.store = redis === null ? new MemoryLockoutStore() : new RedisLockoutStore(redis);
    this.now = options.now ?? Date.now;
    const windowMs = config.windowSeconds * 1000;
    const maxMs = config.maxSeconds * 1000;
    this.policy = {
      windowMs,
      baseMs: config.baseSeconds * 1000,
      maxMs,
      historyMs: Math.max((options.historySeconds ?? 86_400) * 1000, maxMs + windowMs),
    };
  }

  /** Whether a login for this account from this IP must be refused (429) before the password is even checked. */
  async check(email: string, ip: string): Promise<LockoutStatus> {
    const keys = this.keys(email, ip).map((k) => k.key);
    if (keys.length === 0) return UNLOCKED;
    return status(await this.store.lockedMs(keys, this.now()));
  }

  /** Counts a failed login against the account and the IP; says whether that (or an earlier failure) locked either. */
  async recordFailure(email: string, ip: string): Promise<LockoutStatus> {
    const keys = this.keys(email, ip);
    if (keys.length === 0) return UNLOCKED;
    const ms = await this.store.fail(keys.map((k) => k.key), keys.map((k) => k.threshold), this.now(), this.policy);
    return status(ms);
  }

  /** A correct password clears the account's failures and lock history; the IP's count stands (it may be sweeping accounts). */
  async recordSuccess(email: string, _ip: string): Promise<void> {
    if (this.config.accountThreshold !== null) await this.store.clear(this.accountKey(email));
  }

  /** Account keys hold a hash, not the address: no personal data in Redis key names, and a bounded key length. */
  private accountKey(email: string): string {
    const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 32);
    return `${this.prefix}:lockout:account:${digest}`;
  }

  private keys(email: string, ip: string): { key: string; threshold: number }[] {
    const keys: { key: string; threshold: number }[] = [];
    if (this.config.accountThreshold !== null) keys.push({ key: this.accountKey(email), threshold: this.config.accountThreshold });
    if (this.config.ipThreshold !== null) keys.push({ key: `${this.prefix}:lockout:ip:${ipRateLimitKey(ip)}`, threshold: this.config.ipThreshold });
    return keys;
  }
}

const UNLOCKED: LockoutStatus = Object.freeze({ locked: false, retryAfterSeconds: 0 });

function status(remainingMs: readonly number[]): LockoutStatus {
  const ms = Math.max(0, ...remainingMs);
  return ms > 0 ? { locked: true, retryAfterSeconds: Math.ceil(ms / 1000) } : UNLOCKED;
}
