import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LoginLockoutConfig } from '../config.js';
import type { Log } from '../logger.js';
import { ipRateLimitKey } from './network-rules.js';

/**
 * Exponential lockout after failed logins, kept so that a stranger cannot lock a user out (OWASP's advice on
 * account lockout): failures are counted on three keys, each with its own lock,
 *
 *   source   one account from one client address: the attacker's own guesses against it. Its lock refuses that
 *            address only, and doubles while the address keeps failing.
 *   account  one account from anywhere (a guess spread over many addresses). Its lock refuses only the addresses
 *            with failures against the account on record (a failure in the window, or a source lock in the history);
 *            an address without any still gets in with the right password, so the owner is never locked out by
 *            someone else's guesses, while a botnet gets one guess per address per lock.
 *   ip       one client address across accounts (credential stuffing): as before, locked for every account.
 *
 * Per key: `threshold` failures within `window` (counted from the window's first failure) lock the key for
 * base · 2^n (capped at max), n = locks so far; the lock ends by itself and the failure count starts again.
 * A key's whole history (and so n) is forgotten after a quiet `history` period (default 24 h).
 *
 * The memory and Redis stores run the same state machine (`applyFailure` below and FAIL_SCRIPT, which mirrors it);
 * the Redis one runs as one Lua script per call, so concurrent nodes cannot both miss or double-count a lock.
 * Times are the caller's clock (passed into the script): API nodes are NTP-synced, and lock lengths are seconds to
 * hours, so skew of a few ms does not matter, while tests can drive both stores with a fake clock.
 *
 * Like the rate limiters (rate-limit.ts), the Redis store is insured by an in-process one: while Redis fails, each node
 * counts and locks on its own rather than answering logins with a 500. The in-process store holds at most
 * `maxEntries` keys, so a spray of accounts and addresses costs bounded memory.
 */

/** About 300 bytes an entry (key, state, map slot; measured), so some 30 MB at the cap. */
const DEFAULT_MAX_ENTRIES = 100_000;
/** Expired entries of the in-process store are dropped at most this often (they are ignored on read before). */
const SWEEP_INTERVAL_MS = 1000;
/** A failing Redis is logged at most this often; the failures in between are counted into the next warning. */
const STORE_WARNING_INTERVAL_MS = 60_000;

export interface LockoutStatus {
  locked: boolean;
  /** Seconds until this login would no longer be refused; 0 when not locked. */
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

/** What a store answers per key, in ms from now. */
interface KeyState {
  /** Until the key's lock ends; 0 = not locked. */
  lockedMs: number;
  /** Until the key holds no failure on record: its lock, its window's failures, its lock history; 0 = none. */
  failedMs: number;
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

/** `expiresAt`: when the key's history is forgotten. Mirrored by STATE in the scripts. */
function keyState(s: LockState, expiresAt: number, now: number): KeyState {
  const lockedMs = Math.max(0, s.lockedUntil - now);
  const windowMs = s.failures > 0 ? s.windowEndsAt - now : 0;
  const historyMs = s.locks > 0 ? expiresAt - now : 0;
  return { lockedMs, failedMs: Math.max(lockedMs, windowMs, historyMs, 0) };
}

interface LockoutStore {
  /** Records a failure on each key (its own threshold); answers each key's state after it. */
  fail(
    keys: readonly string[],
    thresholds: readonly number[],
    now: number,
    p: Omit<Policy, 'threshold'>,
  ): Promise<KeyState[]>;
  state(keys: readonly string[], now: number): Promise<KeyState[]>;
  clear(key: string): Promise<void>;
}

const CLEAN: KeyState = Object.freeze({ lockedMs: 0, failedMs: 0 });

class MemoryLockoutStore implements LockoutStore {
  /** Insertion order = order of last write, and expiry = last write + history, so expired entries sit at the front. */
  private readonly entries = new Map<string, LockState & { expiresAt: number }>();
  private nextSweepAt = 0;

  constructor(private readonly maxEntries: number) {}

  private live(key: string, now: number): (LockState & { expiresAt: number }) | undefined {
    const e = this.entries.get(key);
    return e !== undefined && e.expiresAt > now ? e : undefined;
  }

  /**
   * Drops the expired entries and, when `adding` more would pass the cap, the least recently written live ones after
   * them, plus a tenth of the cap besides. A V8 Map keeps deleted slots until it rehashes, so every walk from the
   * front steps over all earlier deletions: walking at most once a second, and evicting a batch at a time, keeps
   * that cost constant per failure instead of growing with the map.
   */
  private sweep(now: number, adding: number): void {
    const over = this.entries.size + adding - this.maxEntries;
    if (over <= 0 && now < this.nextSweepAt) return;
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
    // A key written an hour ago may still be locked (locks last up to max); evicting it takes `maxEntries` fresh
    // keys within that hour, each a failed login that the login rate limit and the IP lockout count too.
    let evict = over > 0 ? over + Math.floor(this.maxEntries / 10) : 0;
    for (const [key, e] of this.entries) {
      if (evict <= 0 && e.expiresAt > now) break;
      this.entries.delete(key);
      evict -= 1;
    }
  }

  fail(
    keys: readonly string[],
    thresholds: readonly number[],
    now: number,
    p: Omit<Policy, 'threshold'>,
  ): Promise<KeyState[]> {
    this.sweep(now, keys.length);
    const out = keys.map((key, i) => {
      const s = this.live(key, now) ?? { failures: 0, windowEndsAt: 0, locks: 0, lockedUntil: 0, expiresAt: 0 };
      applyFailure(s, now, { ...p, threshold: thresholds[i]! });
      s.expiresAt = now + p.historyMs;
      this.entries.delete(key);
      this.entries.set(key, s);
      return keyState(s, s.expiresAt, now);
    });
    return Promise.resolve(out);
  }

  state(keys: readonly string[], now: number): Promise<KeyState[]> {
    return Promise.resolve(
      keys.map((key) => {
        const s = this.live(key, now);
        return s ? keyState(s, s.expiresAt, now) : CLEAN;
      }),
    );
  }

  clear(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }
}

// The Lua twin of keyState: a key's state as two numbers, appended to `out`. `ttl` is the key's remaining history.
const STATE = `
local function state(out, f, fx, n, lu, ttl, now)
  local locked = math.max(0, lu - now)
  local failed = locked
  if f > 0 then failed = math.max(failed, fx - now) end
  if n > 0 then failed = math.max(failed, ttl) end
  out[#out + 1] = locked
  out[#out + 1] = math.max(0, failed)
end
`;

// KEYS: the keys. ARGV: now, windowMs, baseMs, maxMs, historyMs, then one threshold per key. Mirrors applyFailure.
// Answers lockedMs, failedMs per key, flattened.
const FAIL_SCRIPT = `${STATE}
local now, window, base, max, history = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
for i, key in ipairs(KEYS) do
  local threshold = tonumber(ARGV[5 + i])
  local v = redis.call('HMGET', key, 'f', 'fx', 'n', 'lu')
  local f, fx, n, lu = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
  local ttl
  if lu <= now then
    if fx <= now then f = 0; fx = now + window end
    f = f + 1
    if f >= threshold then
      lu = now + math.min(base * 2 ^ math.min(n, 40), max)
      n = n + 1; f = 0; fx = 0
    end
    redis.call('HSET', key, 'f', f, 'fx', fx, 'n', n, 'lu', lu)
    redis.call('PEXPIRE', key, history)
    ttl = history
  else
    ttl = redis.call('PTTL', key)
  end
  state(out, f, fx, n, lu, ttl, now)
end
return out
`;

// KEYS: the keys. ARGV: now. Answers lockedMs, failedMs per key, flattened.
const CHECK_SCRIPT = `${STATE}
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'f', 'fx', 'n', 'lu')
  state(out, tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0, redis.call('PTTL', key), now)
end
return out
`;

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

function pairs(flat: readonly number[]): KeyState[] {
  const out: KeyState[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ lockedMs: flat[i]!, failedMs: flat[i + 1]! });
  return out;
}

class RedisLockoutStore implements LockoutStore {
  private readonly failSha = sha1(FAIL_SCRIPT);
  private readonly checkSha = sha1(CHECK_SCRIPT);

  constructor(private readonly redis: Redis) {}

  /** EVALSHA, loading the script on NOSCRIPT (first use, or after a Redis restart or SCRIPT FLUSH). */
  private async run(
    script: string,
    sha: string,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<KeyState[]> {
    try {
      return pairs((await this.redis.evalsha(sha, keys.length, ...keys, ...args)) as number[]);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return pairs((await this.redis.eval(script, keys.length, ...keys, ...args)) as number[]);
    }
  }

  fail(
    keys: readonly string[],
    thresholds: readonly number[],
    now: number,
    p: Omit<Policy, 'threshold'>,
  ): Promise<KeyState[]> {
    return this.run(FAIL_SCRIPT, this.failSha, keys, [now, p.windowMs, p.baseMs, p.maxMs, p.historyMs, ...thresholds]);
  }

  state(keys: readonly string[], now: number): Promise<KeyState[]> {
    return this.run(CHECK_SCRIPT, this.checkSha, keys, [now]);
  }

  async clear(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

/**
 * Redis, with an in-process store taking over while Redis calls fail (as the rate limiters' insuranceLimiter does).
 * `state` also consults the in-process store, so locks taken during an outage still hold on this node after it.
 */
class InsuredLockoutStore implements LockoutStore {
  constructor(
    private readonly primary: LockoutStore,
    private readonly insurance: LockoutStore,
    private readonly failed: (err: unknown) => void,
  ) {}

  async fail(
    keys: readonly string[],
    thresholds: readonly number[],
    now: number,
    p: Omit<Policy, 'threshold'>,
  ): Promise<KeyState[]> {
    try {
      return await this.primary.fail(keys, thresholds, now, p);
    } catch (e) {
      this.failed(e);
      return this.insurance.fail(keys, thresholds, now, p);
    }
  }

  async state(keys: readonly string[], now: number): Promise<KeyState[]> {
    const local = await this.insurance.state(keys, now);
    try {
      return (await this.primary.state(keys, now)).map((s, i) => ({
        lockedMs: Math.max(s.lockedMs, local[i]!.lockedMs),
        failedMs: Math.max(s.failedMs, local[i]!.failedMs),
      }));
    } catch (e) {
      this.failed(e);
      return local;
    }
  }

  async clear(key: string): Promise<void> {
    await this.insurance.clear(key);
    try {
      await this.primary.clear(key);
    } catch (e) {
      this.failed(e);
    }
  }
}

export interface LoginLockoutOptions {
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
  /** Quiet time after which a key's lock count is forgotten; at least max lock + window. Default 24 h. */
  historySeconds?: number;
  /** Most keys the in-process store (the store without Redis, or Redis's insurance) holds. Default 100,000. */
  maxEntries?: number;
  /** Hears Redis failures (rate-limited warnings); none are logged without it. */
  log?: Log;
}

type KeyRole = 'account' | 'source' | 'ip';

interface LockoutKey {
  role: KeyRole;
  key: string;
  threshold: number;
}

export class LoginLockout {
  private readonly store: LockoutStore;
  private readonly now: () => number;
  private readonly policy: Omit<Policy, 'threshold'>;
  private readonly log: Log | undefined;
  private warnedAt = -Infinity;
  private unwarnedFailures = 0;

  constructor(
    private readonly config: LoginLockoutConfig,
    redis: Redis | null,
    private readonly prefix: string,
    options: LoginLockoutOptions = {},
  ) {
    const memory = new MemoryLockoutStore(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.store =
      redis === null
        ? memory
        : new InsuredLockoutStore(new RedisLockoutStore(redis), memory, (e) => this.storeFailed(e));
    this.log = options.log;
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
    const keys = this.keys(email, ip);
    if (keys.length === 0) return UNLOCKED;
    return status(
      keys,
      await this.store.state(
        keys.map((k) => k.key),
        this.now(),
      ),
    );
  }

  /** Counts a failed login on every key; says whether that (or an earlier failure) now refuses this source. */
  async recordFailure(email: string, ip: string): Promise<LockoutStatus> {
    const keys = this.keys(email, ip);
    if (keys.length === 0) return UNLOCKED;
    return status(
      keys,
      await this.store.fail(
        keys.map((k) => k.key),
        keys.map((k) => k.threshold),
        this.now(),
        this.policy,
      ),
    );
  }

  /**
   * A correct password clears this source's record against the account: it proved it knows the password. The
   * account's count stands (others may still be guessing it), and so does the IP's (it may be sweeping accounts).
   */
  async recordSuccess(email: string, ip: string): Promise<void> {
    if (this.config.accountThreshold !== null) await this.store.clear(this.sourceKey(email, ip));
  }

  private storeFailed(err: unknown): void {
    const now = this.now();
    if (now - this.warnedAt < STORE_WARNING_INTERVAL_MS) {
      this.unwarnedFailures += 1;
      return;
    }
    this.log?.warn(
      { err, failuresSinceLastWarning: this.unwarnedFailures },
      'login lockout: Redis failed; this node counts failed logins on its own meanwhile',
    );
    this.warnedAt = now;
    this.unwarnedFailures = 0;
  }

  /** Account keys hold a hash, not the address: no personal data in Redis key names, and a bounded key length. */
  private accountDigest(email: string): string {
    return createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 32);
  }

  private sourceKey(email: string, ip: string): string {
    return `${this.prefix}:lockout:source:${this.accountDigest(email)}:${ipRateLimitKey(ip)}`;
  }

  private keys(email: string, ip: string): LockoutKey[] {
    const keys: LockoutKey[] = [];
    const { accountThreshold, ipThreshold } = this.config;
    if (accountThreshold !== null) {
      keys.push({
        role: 'account',
        key: `${this.prefix}:lockout:account:${this.accountDigest(email)}`,
        threshold: accountThreshold,
      });
      keys.push({ role: 'source', key: this.sourceKey(email, ip), threshold: accountThreshold });
    }
    if (ipThreshold !== null)
      keys.push({ role: 'ip', key: `${this.prefix}:lockout:ip:${ipRateLimitKey(ip)}`, threshold: ipThreshold });
    return keys;
  }
}

const UNLOCKED: LockoutStatus = Object.freeze({ locked: false, retryAfterSeconds: 0 });

/**
 * The source's own locks (account+source, IP) always refuse; the account's lock refuses only while the source has
 * failures on record against the account, and only until that record is forgotten.
 */
function status(keys: readonly LockoutKey[], states: readonly KeyState[]): LockoutStatus {
  let waitMs = 0;
  let accountLockedMs = 0;
  let sourceFailedMs = 0;
  keys.forEach(({ role }, i) => {
    const s = states[i] ?? CLEAN;
    if (role === 'account') accountLockedMs = s.lockedMs;
    else waitMs = Math.max(waitMs, s.lockedMs);
    if (role === 'source') sourceFailedMs = s.failedMs;
  });
  if (accountLockedMs > 0 && sourceFailedMs > 0) waitMs = Math.max(waitMs, Math.min(accountLockedMs, sourceFailedMs));
  return waitMs > 0 ? { locked: true, retryAfterSeconds: Math.ceil(waitMs / 1000) } : UNLOCKED;
}
