import { ConfigError, type Reader } from './reader.js';

/** Request budgets per caller and the lockout after failed logins (src/http/rate-limit.ts enforces them). */

/** A fixed-window budget: `points` requests per `windowSeconds`. */
export interface RateLimitRule {
  points: number;
  windowSeconds: number;
}

/** Request budgets (null = that limit is off) and the exponential lockout after failed logins. */
export interface RateLimitsConfig {
  user: RateLimitRule | null;
  apiKey: RateLimitRule | null;
  /** Requests without credentials, per client IP (IPv6 per /64). */
  ip: RateLimitRule | null;
  /** Login attempts per client IP, on top of `ip`. */
  login: RateLimitRule | null;
  lockout: LoginLockoutConfig;
}

export interface LoginLockoutConfig {
  /**
   * Failed logins against one account (within `windowSeconds`) that lock it: from one address, for that address;
   * from anywhere, for every address with failures against it on record (one without any still gets in with the
   * right password, so nobody locks the owner out). null = accounts never lock.
   */
  accountThreshold: number | null;
  /** Failed logins from one IP (any account) that lock that IP; null = IPs never lock. */
  ipThreshold: number | null;
  /** Failures older than this (counted from the first failure of the window) are forgotten. */
  windowSeconds: number;
  /** The first lock lasts this long; each further lock doubles it, up to `maxSeconds`. */
  baseSeconds: number;
  maxSeconds: number;
}

const RATE_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
};

/** `100/min`, `20/10s`, `5000/h` → a rule; `off` → null; anything else → undefined. */
export function parseRateLimit(raw: string): RateLimitRule | null | undefined {
  if (raw.trim().toLowerCase() === 'off') return null;
  const m = /^\s*(\d+)\s*\/\s*(\d*)\s*([a-z]+?)s?\s*$/i.exec(raw);
  if (!m) return undefined;
  const unit = RATE_UNITS[m[3]!.toLowerCase()];
  const points = Number(m[1]);
  const windowSeconds = (m[2] === '' ? 1 : Number(m[2])) * (unit ?? NaN);
  if (
    !Number.isSafeInteger(points) ||
    points < 1 ||
    !Number.isSafeInteger(windowSeconds) ||
    windowSeconds < 1 ||
    windowSeconds > 86_400
  )
    return undefined;
  return { points, windowSeconds };
}

function rateLimit(r: Reader, name: string, fallback: RateLimitRule): RateLimitRule | null {
  const v = r.string(name, '');
  if (v === '') return fallback;
  const rule = parseRateLimit(v);
  if (rule === undefined)
    throw new ConfigError(name, 'a rate such as 100/min, 20/10s or 5000/h (window up to 24h), or off', v);
  return rule;
}

function thresholdOrOff(r: Reader, name: string, fallback: number): number | null {
  return r.string(name, '').toLowerCase() === 'off' ? null : r.int(name, fallback, 1, 1_000_000);
}

/*
 * Defaults. The issue suggests 100 requests/min per user, but one dashboard page fans out into several API calls
 * and scripted CLI use (uploads polled for progress, batch previews) easily passes 100/min, so that would punish
 * normal use. The defaults stop runaway clients and brute force, not heavy users: 600/min per user (10/s sustained),
 * 1200/min per API key (machine clients), 300/min per IP for requests without credentials (health checks, docs,
 * logins), and 10 logins/min per IP. Lockout: 5 failed logins lock an account for 30 s, doubling per repeat up to
 * 1 h, for the addresses that failed (see LoginLockoutConfig); 20 failures from one IP (a credential-stuffing sweep
 * across accounts) lock that IP the same way.
 */
export function parseRateLimits(r: Reader): RateLimitsConfig {
  const baseSeconds = r.int('WEIR_LOGIN_LOCKOUT_BASE_SECONDS', 30, 1, 86_400);
  const maxSeconds = r.int('WEIR_LOGIN_LOCKOUT_MAX_SECONDS', 3600, 1, 7 * 86_400);
  if (maxSeconds < baseSeconds)
    throw new ConfigError(
      'WEIR_LOGIN_LOCKOUT_MAX_SECONDS',
      `at least WEIR_LOGIN_LOCKOUT_BASE_SECONDS (${baseSeconds})`,
      String(maxSeconds),
    );
  return {
    user: rateLimit(r, 'WEIR_RATE_LIMIT_USER', { points: 600, windowSeconds: 60 }),
    apiKey: rateLimit(r, 'WEIR_RATE_LIMIT_API_KEY', { points: 1200, windowSeconds: 60 }),
    ip: rateLimit(r, 'WEIR_RATE_LIMIT_IP', { points: 300, windowSeconds: 60 }),
    login: rateLimit(r, 'WEIR_RATE_LIMIT_LOGIN', { points: 10, windowSeconds: 60 }),
    lockout: {
      accountThreshold: thresholdOrOff(r, 'WEIR_LOGIN_LOCKOUT_THRESHOLD', 5),
      ipThreshold: thresholdOrOff(r, 'WEIR_LOGIN_LOCKOUT_IP_THRESHOLD', 20),
      windowSeconds: r.int('WEIR_LOGIN_LOCKOUT_WINDOW_SECONDS', 900, 1, 7 * 86_400),
      baseSeconds,
      maxSeconds,
    },
  };
}
