import { parseSecretsKey } from './connectors/secrets.js';
import { availableParallelism, totalmem } from 'node:os';
import path from 'node:path';
import { parseAuth, type AuthConfig } from './config/auth.js';
import { parseBlobs, parseDatabase, parseRedisUrl, type BlobsConfig, type DatabaseConfig } from './config/drivers.js';
import {
  csvMaxLineBytes,
  parseHttpLimits,
  type HttpLimitsConfig,
  type IngestLimitsConfig,
  type WorkLimitsConfig,
  type XlsxLimitsConfig,
} from './config/limits.js';
import { cidrList, parseOrigins, parseTrustProxy, type TrustProxy } from './config/network.js';
import { parseRateLimits, type RateLimitsConfig } from './config/rate-limits.js';
import { ConfigError, Reader, type Env } from './config/reader.js';
import { parseCron, type RetentionConfig, type UploadsConfig } from './config/storage.js';

/**
 * The server's configuration: the one place that reads `process.env` for it (the CLI's is src/cli/config.ts). Every
 * WEIR_* variable is parsed here, once, into a typed Config, by the parsers of src/config/ per domain; a wrong value
 * stops start-up with a ConfigError whose one-line message names the variable and what it expects.
 */

export { ConfigError } from './config/reader.js';
export type { AuthConfig } from './config/auth.js';
export type { BlobsConfig, DatabaseConfig } from './config/drivers.js';
export type {
  HttpLimitsConfig,
  IngestLimitsConfig,
  MinRate,
  WorkLimitsConfig,
  XlsxLimitsConfig,
} from './config/limits.js';
export type { TrustProxy } from './config/network.js';
export type { LoginLockoutConfig, RateLimitRule, RateLimitsConfig } from './config/rate-limits.js';
export type { RetentionConfig, UploadsConfig } from './config/storage.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'auto' | 'json' | 'pretty';

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
  /** The built dashboard (WEIR_WEB_DIR); undefined: `dist/web` beside the bundle (src/http/web-app.ts). */
  webDir: string | undefined;
  /** Largest accepted dataset file, in bytes. */
  maxUploadBytes: number;
  /** Largest accepted non-file request body (JSON), in bytes. */
  maxBodyBytes: number;
  /** Most rows one preview request may return. */
  previewMaxRows: number;
  /** Limits of the analytics endpoints (src/analytics/): how long one DuckDB query may run, how many rows a query may answer. */
  analytics: {
    queryTimeoutMs: number;
    queryMaxRows: number;
    /** Versions with at least this many rows get min/max summaries for /timeseries (src/analytics/summaries.ts). */
    timeseriesSummaryMinRows: number;
  };
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
  /** Connectors (src/connectors/): how their credentials are sealed, which addresses they may reach, whether this process runs them. */
  connectors: ConnectorsConfig;
  /** Retention per blob area and the storage sweep's schedule (src/storage/). */
  retention: RetentionConfig;
  /** TEST ONLY (WEIR_TEST_JOB_KINDS=1): registers the `test.*` job kinds the job tests use. Never set in production. */
  testJobKinds: boolean;
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ConnectorsConfig {
  /** WEIR_SECRETS_KEY (32 bytes); null: a key file in the data dir, made on first use (one machine only). */
  secretsKey: Buffer | null;
  /** WEIR_SECRETS_OLD_KEYS: keys of a rotation, kept only to open what they sealed. */
  secretsOldKeys: Buffer[];
  /** Sources may be on loopback and private networks (WEIR_CONNECTORS_ALLOW_PRIVATE=true; off by default: SSRF). */
  allowPrivateNetworks: boolean;
  /** This process polls, subscribes and flushes (WEIR_CONNECTORS=off leaves it to other nodes). */
  run: boolean;
}

function secretsKey(name: string, text: string): Buffer {
  try {
    return parseSecretsKey(text);
  } catch (e) {
    throw new ConfigError(name, (e as Error).message, '(hidden)');
  }
}

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
    webDir: env.WEIR_WEB_DIR?.trim() || undefined,
    maxUploadBytes: r.bytes('WEIR_MAX_UPLOAD_BYTES', 5 * 1024 ** 3),
    maxBodyBytes: r.bytes('WEIR_MAX_BODY_BYTES', 1024 ** 2),
    previewMaxRows: r.int('WEIR_PREVIEW_MAX_ROWS', 1000, 1, 100_000),
    analytics: {
      queryTimeoutMs: r.duration('WEIR_QUERY_TIMEOUT', 10_000, 1),
      queryMaxRows: r.int('WEIR_QUERY_MAX_ROWS', 10_000, 1, 1_000_000),
      // Below a million rows the raw pass takes tens of ms: a summary would save little and cost a file per chart.
      timeseriesSummaryMinRows: r.int('WEIR_TIMESERIES_SUMMARY_MIN_ROWS', 1_000_000, 0, Number.MAX_SAFE_INTEGER),
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
      // Training holds the columns in memory as typed arrays (8 bytes a value) in the worker and its thread.
      modelMaxRows: r.int('WEIR_MODEL_MAX_ROWS', 2_000_000, 1, 100_000_000),
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
    connectors: {
      secretsKey: env.WEIR_SECRETS_KEY ? secretsKey('WEIR_SECRETS_KEY', env.WEIR_SECRETS_KEY) : null,
      secretsOldKeys: r.list('WEIR_SECRETS_OLD_KEYS').map((k) => secretsKey('WEIR_SECRETS_OLD_KEYS', k)),
      allowPrivateNetworks: r.oneOf('WEIR_CONNECTORS_ALLOW_PRIVATE', 'false', ['true', 'false'] as const) === 'true',
      run: r.oneOf('WEIR_CONNECTORS', 'on', ['on', 'off'] as const) === 'on',
    },
    testJobKinds: ['1', 'true'].includes(r.oneOf('WEIR_TEST_JOB_KINDS', '0', ['0', '1', 'true', 'false'] as const)),
  };
}
