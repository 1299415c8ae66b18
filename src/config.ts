import { availableParallelism, homedir, totalmem } from 'node:os';
import path from 'node:path';
import { validateCidrs } from './http/network-rules.js';

/**
 * The one place that reads `process.env`. Every WEIR_* variable is parsed here, once, into a typed Config;
 * a wrong value stops start-up with a ConfigError whose one-line message names the variable and what it expects.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'auto' | 'json' | 'pretty';

export type DatabaseConfig = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string };

export interface XlsxLimitsConfig {
  maxEntries: number;
  maxUncompressedBytes: number;
  maxRatio: number;
  maxCells: number;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseConfig;
  logLevel: LogLevel;
  /**
   * How log lines are written: `json` lines, `pretty` (one readable line each, for people), or `auto`: pretty when
   * the output is a terminal, JSON otherwise (pipes, files, CI, tests). Resolved by the entry point (src/log-output.ts).
   */
  logFormat: LogFormat;
  /** Allowed CORS origins; empty = no cross-origin access, ['*'] = any origin. */
  corsOrigins: string[];
  /** Largest accepted dataset file, in bytes. */
  maxUploadBytes: number;
  /** Largest accepted non-file request body (JSON), in bytes. */
  maxBodyBytes: number;
  /** Most rows one preview request may return. */
  previewMaxRows: number;
  /** Limits of the analytics endpoints (src/analytics/): how long one DuckDB query may run, how many rows a query may answer. */
  analytics: { queryTimeoutMs: number; queryMaxRows: number };
  /** DuckDB's own bounds: `tempLimitBytes` caps its spill directory (`max_temp_directory_size`) for the whole instance. */
  duckdb: { memoryLimit: string; threads: number; tempLimitBytes: number };
  /** Bounds on the DuckDB work of pipelines, previews and analytics (src/pipelines/bounds.ts). */
  work: WorkLimitsConfig;
  xlsx: XlsxLimitsConfig;
  /** What an ingested file may hold, whatever its format (src/datasets/convert.ts). */
  ingest: IngestLimitsConfig;
  /** Slow and greedy HTTP clients: timeouts, the upload data rate, connections per address (src/http/slow-clients.ts). */
  http: HttpLimitsConfig;
  rateLimits: RateLimitsConfig;
  /** Global IP rules (CIDR blocks or addresses, validated); deny wins, an empty allow list allows all. */
  ipRules: { allow: string[]; deny: string[] };
  /** Passed to Fastify's `trustProxy`: which peers may set X-Forwarded-For (false = none, the default). */
  trustProxy: TrustProxy;
  /** The server is reached over HTTPS only: send Strict-Transport-Security. */
  hsts: boolean;
  /** How long a SIGTERM/SIGINT waits for in-flight requests before closing anyway, in ms. */
  shutdownTimeoutMs: number;
  auth: AuthConfig;
  /** Redis (`redis://…`): switches the job queue to BullMQ, the event bus to pub/sub and rate limits to Redis. */
  redisUrl: string | null;
  /** Prefix of Weir's own Redis keys (rate limits, lockouts): several deployments or test runs can share one Redis. */
  redisPrefix: string;
  realtime: RealtimeConfig;
  /** The job queue and its workers (src/jobs/). */
  jobs: JobsConfig;
  /** The job worker process `weir serve` supervises (src/jobs/supervisor.ts). */
  worker: WorkerConfig;
  /** Where blobs live: a local directory (default, `<dataDir>/blobs`) or an S3-compatible bucket (WEIR_S3_*). */
  blobs: BlobsConfig;
  /** Resumable (tus) uploads (src/uploads/). */
  uploads: UploadsConfig;
  /** Retention per blob area and the storage sweep's schedule (src/storage/). */
  retention: RetentionConfig;
  /** TEST ONLY (WEIR_TEST_JOB_KINDS=1): registers the `test.*` job kinds the job tests use. Never set in production. */
  testJobKinds: boolean;
}

export interface WorkLimitsConfig {
  /**
   * Rows one pipeline run may write, and the most rows work of a size known before it starts may make (a resample's
   * filled bucket grid, histogram bins, time series points): such work over it is refused (422) before it runs.
   */
  maxOutputRows: number;
  /** Bytes of one pipeline run's output file in scratch space: a run that writes more is stopped. */
  maxOutputBytes: number;
  /** How long a pipeline preview's queries may run before they are interrupted, in ms. */
  previewTimeoutMs: number;
}

export interface IngestLimitsConfig {
  /** Columns a dataset may have (CSV fields, JSON keys, XLSX header cells, Parquet columns). */
  maxColumns: number;
  /** Longest CSV line (one record, quoted line breaks included) accepted, in bytes. */
  csvMaxLineBytes: number;
}

/** A minimum data rate: at least `bytes` in every `windowMs`. */
export interface MinRate {
  bytes: number;
  windowMs: number;
}

export interface HttpLimitsConfig {
  /** The request line and headers must arrive within this long, in ms (Node's `headersTimeout`). */
  headersTimeoutMs: number;
  /** A request body other than a file upload must arrive within this long of its headers, in ms. */
  bodyTimeoutMs: number;
  /** A file upload's body (tus PATCH, multipart) must keep up this rate instead; null = no minimum. */
  uploadMinRate: MinRate | null;
  /** An idle keep-alive connection is closed after this long, in ms. */
  keepAliveTimeoutMs: number;
  /** Open connections one client address (the socket's) may hold, WebSocket and SSE included; null = no cap. */
  maxConnectionsPerAddress: number | null;
}

export interface AuthConfig {
  /** HS256 signing secret for access tokens; null = generated on first run and kept in the metadata DB. */
  jwtSecret: string | null;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** How long a workspace invitation can be accepted, in seconds (WEIR_INVITATION_TTL, default 7 days). */
  invitationTtlSeconds: number;
  /** Creates the first owner on an empty database; ignored once any user exists. */
  bootstrapAdmin: { email: string; password: string } | null;
  /** When set, /metrics needs it as a bearer token; null = /metrics is public. */
  metricsToken: string | null;
  /** Mark the refresh cookie `Secure` (default true; browsers treat http://localhost as secure too). */
  cookieSecure: boolean;
  /**
   * Benchmarks only: every request acts as the owner of the default workspace. Refused unless the server
   * listens on a loopback address, and logged loudly.
   */
  insecureDisabled: boolean;
}

/** The WebSocket hub and the SSE streams (src/realtime/), and the Redis event bus. */
export interface RealtimeConfig {
  /** Interval of WebSocket pings; a connection that has not answered the previous one by the next is dropped. */
  wsHeartbeatMs: number;
  /** Unsent bytes a WebSocket may queue before it is closed as a slow consumer (1013). */
  wsMaxBufferBytes: number;
  /** Topics one WebSocket connection may subscribe to. */
  wsMaxSubscriptions: number;
  /** Open WebSocket connections one user (all of their sessions) may hold on one API process. */
  wsMaxConnectionsPerUser: number;
  /** Open WebSocket connections one API key may hold on one API process. */
  wsMaxConnectionsPerKey: number;
  /** Open SSE job streams one user, and separately one API key, may hold on one API process. */
  sseMaxStreamsPerUser: number;
  /** Interval of SSE comment lines that keep idle proxies from closing the stream. */
  sseHeartbeatMs: number;
  /** Prefix of the event bus's Redis pub/sub channels (`<prefix>job:job_…`); default `<WEIR_REDIS_PREFIX>:events:`. */
  busChannelPrefix: string;
}

/** The job queue: embedded (rows of the metadata DB) by default, BullMQ when WEIR_REDIS_URL is set. */
export interface JobsConfig {
  /** Finished jobs older than this are deleted by the `jobs.sweep` job, in ms. */
  retentionMs: number;
  /**
   * How long a running job stays claimed without a heartbeat, in ms (embedded: the row's lease; BullMQ: the lock
   * duration and the stalled-job check interval). A worker killed mid-job is detected after about this long.
   */
  leaseMs: number;
  /** How often an idle embedded worker looks for jobs enqueued by other processes, in ms. */
  pollMs: number;
  /** Prefix of the BullMQ keys in Redis (default `<WEIR_REDIS_PREFIX>:jobs`; deployments or test runs can share one Redis). */
  queuePrefix: string;
}

export interface WorkerConfig {
  /** Resident memory past which the supervisor kills the worker process (its jobs lose that attempt), in bytes. */
  memoryLimitBytes: number;
}

export type BlobsConfig =
  | { driver: 'local'; root: string }
  | {
      driver: 's3';
      /** `https://s3.eu-west-1.amazonaws.com`, `http://minio:9000`, …; null = the AWS endpoint of the region. */
      endpoint: string | null;
      bucket: string;
      region: string;
      /** null = the AWS SDK's default credential chain (environment, profile, instance role). */
      credentials: { accessKeyId: string; secretAccessKey: string } | null;
      /** Path-style URLs (`endpoint/bucket/key`): what MinIO, Ceph and most self-hosted stores need. */
      forcePathStyle: boolean;
      /** Prepended to every key, so several deployments can share a bucket (`weir/`, or empty). */
      keyPrefix: string;
    };

export interface UploadsConfig {
  /** An unfinished tus upload not touched for this long expires (Upload-Expires) and is swept, in ms. */
  expiryMs: number;
  /** Bytes a workspace may hold in datasets plus unfinished uploads; null = no quota. */
  workspaceQuotaBytes: number | null;
}

/** How long each kind of stored thing is kept, in ms; null = until deleted. */
export interface RetentionConfig {
  /** Scratch files of this process (`<dataDir>/tmp`) that nothing holds open. */
  tmpMs: number;
  /** `uploads/` blobs no unfinished upload or job refers to. */
  uploadsMs: number;
  /** What finished jobs leave behind (their kind's artifacts, e.g. the upload a failed ingest kept). */
  jobArtifactsMs: number;
  logsMs: number;
  cacheMs: number;
  exportsMs: number;
  /** When the storage sweep runs: a 5-field cron expression (UTC). */
  sweepCron: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string,
  ) {
    super(`${variable}: expected ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `1048576`, `512MB`, `5 GiB` → bytes. */
export function parseByteSize(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `15m`, `72h`, `7d` (a unit is required) → ms. */
export function parseDuration(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(raw);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

class Reader {
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new ConfigError(name, `an integer from ${min} to ${max}`, v);
    return n;
  }

  bytes(name: string, fallback: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = parseByteSize(v);
    if (n === undefined) throw new ConfigError(name, 'a positive byte size such as 1048576, 512MB or 5GiB', v);
    return n;
  }

  /** `500ms`, `30s`, `15m`, `72h`, `7d` → ms. */
  duration(name: string, fallback: number, minMs: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = parseDuration(v);
    if (n === undefined || n < minMs)
      throw new ConfigError(name, `a duration of at least ${minMs} ms such as 500ms, 30s, 15m, 72h or 7d`, v);
    return n;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const lower = v.toLowerCase() as T;
    if (!allowed.includes(lower)) throw new ConfigError(name, `one of ${allowed.join(', ')}`, v);
    return lower;
  }

  list(name: string): string[] {
    const v = this.raw(name);
    return v === undefined
      ? []
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  }
}

function parseDatabase(raw: string | undefined, dataDir: string): DatabaseConfig {
  if (raw === undefined || raw.trim() === '') return { dialect: 'sqlite', file: path.join(dataDir, 'weir.db') };
  const v = raw.trim();
  if (/^postgres(ql)?:\/\//.test(v)) {
    try {
      new URL(v);
    } catch {
      throw new ConfigError('WEIR_DATABASE_URL', 'a valid postgres://user@host:port/database URL', v);
    }
    return { dialect: 'postgres', url: v };
  }
  if (v.startsWith('sqlite:')) {
    const file = v.replace(/^sqlite:(\/\/)?/, '');
    if (file === '') throw new ConfigError('WEIR_DATABASE_URL', 'sqlite:<path> with a file path', v);
    return { dialect: 'sqlite', file: path.resolve(file) };
  }
  throw new ConfigError('WEIR_DATABASE_URL', 'a postgres://… or sqlite:<path> URL', v);
}

function parseOrigins(values: string[]): string[] {
  for (const o of values) {
    if (o === '*') continue;
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, '');
    } catch {
      ok = false;
    }
    if (!ok)
      throw new ConfigError(
        'WEIR_CORS_ORIGINS',
        'a comma-separated list of origins such as https://app.example.com, or *',
        o,
      );
  }
  return values.map((o) => o.replace(/\/$/, ''));
}

function parseAuth(r: Reader, env: Env): AuthConfig {
  const jwtSecret = env.WEIR_JWT_SECRET?.trim() || null;
  if (jwtSecret !== null && Buffer.byteLength(jwtSecret) < 32)
    throw new ConfigError('WEIR_JWT_SECRET', 'at least 32 characters (256 bits) of secret', '<hidden>');
  const email = env.WEIR_BOOTSTRAP_ADMIN_EMAIL?.trim();
  const password = env.WEIR_BOOTSTRAP_ADMIN_PASSWORD;
  if (!!email !== !!password)
    throw new ConfigError(
      email ? 'WEIR_BOOTSTRAP_ADMIN_PASSWORD' : 'WEIR_BOOTSTRAP_ADMIN_EMAIL',
      'to be set together with its pair',
      '',
    );
  if (email && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw new ConfigError('WEIR_BOOTSTRAP_ADMIN_EMAIL', 'an email address', email);
  if (password !== undefined && password.length > 0 && password.length < 10)
    throw new ConfigError('WEIR_BOOTSTRAP_ADMIN_PASSWORD', 'at least 10 characters', '<hidden>');
  const insecureDisabled = r.oneOf('WEIR_INSECURE_DISABLE_AUTH', 'false', ['true', 'false'] as const) === 'true';
  const host = r.string('WEIR_HOST', '127.0.0.1');
  if (insecureDisabled && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new ConfigError(
      'WEIR_INSECURE_DISABLE_AUTH',
      'WEIR_HOST to be a loopback address when authentication is disabled',
      host,
    );
  }
  const invitationTtlMs = r.duration('WEIR_INVITATION_TTL', 7 * 86_400_000, 60_000);
  if (invitationTtlMs > 365 * 86_400_000)
    throw new ConfigError('WEIR_INVITATION_TTL', 'a duration of at most 365d', env.WEIR_INVITATION_TTL ?? '');
  return {
    jwtSecret,
    accessTokenTtlSeconds: r.int('WEIR_ACCESS_TOKEN_TTL_SECONDS', 900, 10, 86_400),
    refreshTokenTtlSeconds: r.int('WEIR_REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
    invitationTtlSeconds: Math.round(invitationTtlMs / 1000),
    bootstrapAdmin: email && password ? { email: email.toLowerCase(), password } : null,
    metricsToken: env.WEIR_METRICS_TOKEN?.trim() || null,
    cookieSecure: r.oneOf('WEIR_COOKIE_SECURE', 'true', ['true', 'false'] as const) === 'true',
    insecureDisabled,
  };
}

function parseRedisUrl(raw: string | undefined): string | null {
  const v = raw?.trim();
  if (!v) return null;
  let ok = false;
  try {
    ok = ['redis:', 'rediss:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new ConfigError('WEIR_REDIS_URL', 'a redis://host:port or rediss://… URL', v);
  return v;
}

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

/** Exactly what Fastify's `trustProxy` accepts: none/all, a hop count, or the trusted proxies' addresses/CIDRs. */
export type TrustProxy = boolean | number | string[];

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

/** `32KiB/30s`, `1MB/1m` → a minimum rate; `off` → null; anything else → undefined. */
export function parseMinRate(raw: string): MinRate | null | undefined {
  if (raw.trim().toLowerCase() === 'off') return null;
  const slash = raw.indexOf('/');
  if (slash === -1) return undefined;
  const bytes = parseByteSize(raw.slice(0, slash));
  const windowMs = parseDuration(raw.slice(slash + 1));
  return bytes === undefined || windowMs === undefined || windowMs < 100 ? undefined : { bytes, windowMs };
}

/*
 * Slow clients. Node's own `requestTimeout` counts the whole request, body included, on every route: it would cut
 * a multi-gigabyte upload, so it stays off and the body is bounded per route instead (src/http/slow-clients.ts).
 * 20 s for the headers and 30 s for a body of at most WEIR_MAX_BODY_BYTES (1 MiB: 35 kB/s) leave room for a bad
 * mobile link; an upload must bring 32 KiB per 30 s (about 1 KiB/s), which a trickle of one byte per few seconds
 * never does. 64 connections per address are a few busy browser tabs (6 each, plus a WebSocket) and a CLI.
 */
function parseHttpLimits(r: Reader): HttpLimitsConfig {
  const rate = r.string('WEIR_UPLOAD_MIN_RATE', '32KiB/30s');
  const uploadMinRate = parseMinRate(rate);
  if (uploadMinRate === undefined)
    throw new ConfigError(
      'WEIR_UPLOAD_MIN_RATE',
      'a size per duration such as 32KiB/30s or 1MB/1m (window at least 100ms), or off',
      rate,
    );
  const cap = r.string('WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS', '64');
  return {
    headersTimeoutMs: r.duration('WEIR_HTTP_HEADERS_TIMEOUT', 20_000, 100),
    bodyTimeoutMs: r.duration('WEIR_HTTP_BODY_TIMEOUT', 30_000, 100),
    uploadMinRate,
    keepAliveTimeoutMs: r.duration('WEIR_HTTP_KEEPALIVE_TIMEOUT', 72_000, 100),
    maxConnectionsPerAddress:
      cap.toLowerCase() === 'off' ? null : r.int('WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS', 64, 1, 1_000_000),
  };
}

/**
 * DuckDB's own default is 2 MB. Its CSV reader holds two lines' worth per thread (src/datasets/convert.ts), so the
 * limit stays far below the DuckDB memory limit: 256 MiB at most.
 */
function csvMaxLineBytes(r: Reader): number {
  const bytes = r.bytes('WEIR_CSV_MAX_LINE_BYTES', 16 * 1024 ** 2);
  if (bytes > 256 * 1024 ** 2)
    throw new ConfigError('WEIR_CSV_MAX_LINE_BYTES', 'a byte size of at most 256MiB', String(bytes));
  return bytes;
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
function parseRateLimits(r: Reader): RateLimitsConfig {
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

function cidrList(r: Reader, name: string): string[] {
  const list = r.list(name);
  const check = validateCidrs(list);
  if (!check.ok)
    throw new ConfigError(name, `comma-separated IPv4/IPv6 addresses or CIDR blocks (${check.message})`, check.value);
  return list;
}

/** proxy-addr (what Fastify uses) also knows these names for address ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function parseTrustProxy(r: Reader): TrustProxy {
  const v = r.string('WEIR_TRUST_PROXY', 'false').toLowerCase();
  if (v === 'false') return false;
  // Believes X-Forwarded-For from any peer: only safe when nothing but the proxy can reach the server.
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return r.int('WEIR_TRUST_PROXY', 0, 1, 100);
  const list = r.list('WEIR_TRUST_PROXY');
  const check = validateCidrs(list.filter((entry) => !PROXY_RANGE_NAMES.includes(entry.toLowerCase())));
  if (!check.ok) {
    throw new ConfigError(
      'WEIR_TRUST_PROXY',
      `false, true, a hop count, or comma-separated proxy addresses/CIDRs (${check.message})`,
      check.value,
    );
  }
  return list.map((entry) => (PROXY_RANGE_NAMES.includes(entry.toLowerCase()) ? entry.toLowerCase() : entry));
}

/** Five cron fields (minute hour day-of-month month day-of-week) of digits, `*`, `/`, `,` and `-` (croner checks the rest). */
function parseCron(v: string): string {
  const fields = v.trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => /^[\d*/,-]+$/.test(f)))
    throw new ConfigError('WEIR_STORAGE_SWEEP_CRON', 'a 5-field cron expression such as "17 * * * *"', v);
  return fields.join(' ');
}

function parseBlobs(r: Reader, env: Env, dataDir: string): BlobsConfig {
  const bucket = r.string('WEIR_S3_BUCKET', '');
  const endpoint = r.string('WEIR_S3_ENDPOINT', '');
  if (bucket === '') {
    if (endpoint !== '') throw new ConfigError('WEIR_S3_BUCKET', 'a bucket name when WEIR_S3_ENDPOINT is set', '');
    return { driver: 'local', root: path.join(dataDir, 'blobs') };
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError(
      'WEIR_S3_BUCKET',
      'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
      bucket,
    );
  if (endpoint !== '') {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError('WEIR_S3_ENDPOINT', 'an http(s):// URL such as http://127.0.0.1:9000', endpoint);
  }
  const accessKeyId = env.WEIR_S3_ACCESS_KEY_ID?.trim() ?? '';
  const secretAccessKey = env.WEIR_S3_SECRET_ACCESS_KEY?.trim() ?? '';
  if (!!accessKeyId !== !!secretAccessKey)
    throw new ConfigError(
      accessKeyId ? 'WEIR_S3_SECRET_ACCESS_KEY' : 'WEIR_S3_ACCESS_KEY_ID',
      'to be set together with its pair',
      '',
    );
  const keyPrefix = r.string('WEIR_S3_PREFIX', '');
  // Whole segments: no leading '/', no empty, '.' or '..' segment (`//`, `/weir/`, `../` would name odd keys).
  const prefixOk =
    keyPrefix === '' ||
    (/^([A-Za-z0-9_\-.]+\/)+$/.test(keyPrefix) && !keyPrefix.split('/').some((seg) => seg === '.' || seg === '..'));
  if (!prefixOk) throw new ConfigError('WEIR_S3_PREFIX', 'a key prefix ending in / such as weir/', keyPrefix);
  return {
    driver: 's3',
    endpoint: endpoint === '' ? null : endpoint.replace(/\/$/, ''),
    bucket,
    region: r.string('WEIR_S3_REGION', 'us-east-1'),
    credentials: accessKeyId ? { accessKeyId, secretAccessKey } : null,
    // Path style unless told otherwise when an endpoint is given (self-hosted stores); AWS itself prefers virtual-hosted.
    forcePathStyle:
      r.oneOf('WEIR_S3_FORCE_PATH_STYLE', endpoint !== '' ? 'true' : 'false', ['true', 'false'] as const) === 'true',
    keyPrefix,
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const dataDir = path.resolve(r.string('WEIR_DATA_DIR', './data'));
  const memoryLimit = r.string('WEIR_DUCKDB_MEMORY_LIMIT', '512MB');
  if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)$/i.test(memoryLimit)) {
    throw new ConfigError('WEIR_DUCKDB_MEMORY_LIMIT', 'a DuckDB memory size such as 512MB, 2GiB or 25%', memoryLimit);
  }
  return {
    host: r.string('WEIR_HOST', '127.0.0.1'),
    port: r.int('WEIR_PORT', 8080, 0, 65535),
    dataDir,
    database: parseDatabase(env.WEIR_DATABASE_URL, dataDir),
    logLevel: r.oneOf<LogLevel>('WEIR_LOG_LEVEL', 'info', LOG_LEVELS),
    logFormat: r.oneOf<LogFormat>('WEIR_LOG_FORMAT', 'auto', ['auto', 'json', 'pretty'] as const),
    corsOrigins: parseOrigins(r.list('WEIR_CORS_ORIGINS')),
    maxUploadBytes: r.bytes('WEIR_MAX_UPLOAD_BYTES', 5 * 1024 ** 3),
    maxBodyBytes: r.bytes('WEIR_MAX_BODY_BYTES', 1024 ** 2),
    previewMaxRows: r.int('WEIR_PREVIEW_MAX_ROWS', 1000, 1, 100_000),
    analytics: {
      queryTimeoutMs: r.duration('WEIR_QUERY_TIMEOUT', 10_000, 1),
      queryMaxRows: r.int('WEIR_QUERY_MAX_ROWS', 10_000, 1, 1_000_000),
    },
    duckdb: {
      memoryLimit,
      threads: r.int('WEIR_DUCKDB_THREADS', availableParallelism(), 1, 1024),
      // DuckDB's default is 90% of the free disk, which a spilling join could take from the metadata DB and blobs.
      tempLimitBytes: r.bytes('WEIR_DUCKDB_TEMP_LIMIT', 20 * 1024 ** 3),
    },
    // 100M rows: a pipeline must be able to rewrite the largest dataset ingest stores (a 5 GiB CSV is about that
    // many rows), and DuckDB makes that many in a couple of minutes on 2 cores within its memory limit.
    work: {
      maxOutputRows: r.int('WEIR_MAX_OUTPUT_ROWS', 100_000_000, 1, Number.MAX_SAFE_INTEGER),
      maxOutputBytes: r.bytes('WEIR_MAX_OUTPUT_BYTES', 10 * 1024 ** 3),
      previewTimeoutMs: r.duration('WEIR_PIPELINE_PREVIEW_TIMEOUT', 30_000, 1),
    },
    xlsx: {
      maxEntries: r.int('WEIR_XLSX_MAX_ENTRIES', 10_000, 1, 1_000_000),
      maxUncompressedBytes: r.bytes('WEIR_XLSX_MAX_UNCOMPRESSED_BYTES', 1024 ** 3),
      maxRatio: r.int('WEIR_XLSX_MAX_RATIO', 200, 1, 100_000),
      maxCells: r.int('WEIR_XLSX_MAX_CELLS', 50_000_000, 1, 2_000_000_000),
    },
    ingest: {
      // What the default 512MB DuckDB memory limit converts at any row count, text columns included (src/datasets/columns.ts).
      maxColumns: r.int('WEIR_MAX_COLUMNS', 200, 1, 100_000),
      csvMaxLineBytes: csvMaxLineBytes(r),
    },
    http: parseHttpLimits(r),
    shutdownTimeoutMs: r.int('WEIR_SHUTDOWN_TIMEOUT_MS', 30_000, 0, 600_000),
    rateLimits: parseRateLimits(r),
    ipRules: { allow: cidrList(r, 'WEIR_IP_ALLOW'), deny: cidrList(r, 'WEIR_IP_DENY') },
    trustProxy: parseTrustProxy(r),
    hsts: r.oneOf('WEIR_HSTS', 'false', ['true', 'false'] as const) === 'true',
    redisUrl: parseRedisUrl(env.WEIR_REDIS_URL),
    redisPrefix: r.string('WEIR_REDIS_PREFIX', 'weir'),
    realtime: {
      wsHeartbeatMs: r.int('WEIR_WS_HEARTBEAT_MS', 30_000, 50, 3_600_000),
      wsMaxBufferBytes: r.bytes('WEIR_WS_MAX_BUFFER_BYTES', 1024 ** 2),
      wsMaxSubscriptions: r.int('WEIR_WS_MAX_SUBSCRIPTIONS', 256, 1, 100_000),
      // A person has a few tabs and a CLI open; a service a handful of workers. Far below what exhausts a process.
      wsMaxConnectionsPerUser: r.int('WEIR_WS_MAX_CONNECTIONS_PER_USER', 32, 1, 1_000_000),
      wsMaxConnectionsPerKey: r.int('WEIR_WS_MAX_CONNECTIONS_PER_KEY', 32, 1, 1_000_000),
      sseMaxStreamsPerUser: r.int('WEIR_SSE_MAX_STREAMS_PER_USER', 16, 1, 1_000_000),
      sseHeartbeatMs: r.int('WEIR_SSE_HEARTBEAT_MS', 15_000, 50, 3_600_000),
      busChannelPrefix: r.string('WEIR_BUS_CHANNEL_PREFIX', `${r.string('WEIR_REDIS_PREFIX', 'weir')}:events:`),
    },
    auth: parseAuth(r, env),
    jobs: {
      retentionMs: r.duration('WEIR_JOB_RETENTION', 7 * 86_400_000, 1000),
      leaseMs: r.duration('WEIR_JOB_LEASE', 30_000, 300),
      pollMs: r.duration('WEIR_JOB_POLL_INTERVAL', 1000, 10),
      queuePrefix: r.string('WEIR_JOB_QUEUE_PREFIX', `${r.string('WEIR_REDIS_PREFIX', 'weir')}:jobs`),
    },
    worker: {
      // 60% of the machine: the API, the database and the page cache keep the rest.
      memoryLimitBytes: r.bytes('WEIR_WORKER_MEMORY_LIMIT', Math.floor(totalmem() * 0.6)),
    },
    blobs: parseBlobs(r, env, dataDir),
    uploads: {
      expiryMs: r.duration('WEIR_UPLOAD_EXPIRY', 24 * 3_600_000, 1000),
      workspaceQuotaBytes:
        r.string('WEIR_WORKSPACE_QUOTA', 'off').toLowerCase() === 'off' ? null : r.bytes('WEIR_WORKSPACE_QUOTA', 1),
    },
    retention: {
      tmpMs: r.duration('WEIR_RETENTION_TMP', 3_600_000, 1000),
      uploadsMs: r.duration('WEIR_RETENTION_UPLOADS', 24 * 3_600_000, 1000),
      jobArtifactsMs: r.duration('WEIR_RETENTION_JOB_ARTIFACTS', 72 * 3_600_000, 1000),
      logsMs: r.duration('WEIR_RETENTION_LOGS', 7 * 86_400_000, 1000),
      cacheMs: r.duration('WEIR_RETENTION_CACHE', 7 * 86_400_000, 1000),
      exportsMs: r.duration('WEIR_RETENTION_EXPORTS', 72 * 3_600_000, 1000),
      sweepCron: parseCron(r.string('WEIR_STORAGE_SWEEP_CRON', '17 * * * *')),
    },
    testJobKinds: ['1', 'true'].includes(r.oneOf('WEIR_TEST_JOB_KINDS', '0', ['0', '1', 'true', 'false'] as const)),
  };
}

/** Settings of the CLI client commands (they talk to a server over HTTP). */
export interface ClientConfig {
  url: string;
  /** WEIR_TOKEN (an API key or access token, for scripts): when set it wins over stored credentials. */
  token: string | null;
  /** Where `weir login` keeps credentials: WEIR_CONFIG_DIR, else $XDG_CONFIG_HOME/weir, else ~/.config/weir. */
  configDir: string;
  /** WEIR_WORKSPACE: sent as `x-weir-workspace`; null = the server picks the caller's default workspace. */
  workspace: string | null;
}

/** The shape the server accepts for `x-weir-workspace` (src/http/auth.ts). */
export const WORKSPACE_ID_PATTERN = /^ws_[A-Za-z0-9]{1,40}$/;

export function loadClientConfig(env: Env = process.env, home: () => string = homedir): ClientConfig {
  const url = (env.WEIR_URL ?? '').trim() || 'http://127.0.0.1:8080';
  try {
    new URL(url);
  } catch {
    throw new ConfigError('WEIR_URL', 'a URL such as http://127.0.0.1:8080', url);
  }
  const token = env.WEIR_TOKEN?.trim() || null;
  if (token !== null && /\s/.test(token))
    throw new ConfigError('WEIR_TOKEN', 'a token without spaces (an API key weir_… or an access token)', '<hidden>');
  const workspace = env.WEIR_WORKSPACE?.trim() || null;
  if (workspace !== null && !WORKSPACE_ID_PATTERN.test(workspace))
    throw new ConfigError('WEIR_WORKSPACE', 'a workspace id such as ws_default', workspace);
  return { url: url.replace(/\/$/, ''), token, configDir: clientConfigDir(env, home), workspace };
}

function clientConfigDir(env: Env, home: () => string): string {
  const explicit = env.WEIR_CONFIG_DIR?.trim();
  if (explicit) return path.resolve(explicit);
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME?.trim();
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'weir');
  return path.join(home(), '.config', 'weir');
}
