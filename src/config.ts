import { availableParallelism } from 'node:os';
import path from 'node:path';

/**
 * The one place that reads `process.env`. Every WEIR_* variable is parsed here, once, into a typed Config;
 * a wrong value stops start-up with a ConfigError whose one-line message names the variable and what it expects.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | { dialect: 'sqlite'; file: string }
  | { dialect: 'postgres'; url: string };

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
  /** Allowed CORS origins; empty = no cross-origin access, ['*'] = any origin. */
  corsOrigins: string[];
  /** Largest accepted dataset file, in bytes. */
  maxUploadBytes: number;
  /** Largest accepted non-file request body (JSON), in bytes. */
  maxBodyBytes: number;
  /** Most rows one preview request may return. */
  previewMaxRows: number;
  duckdb: { memoryLimit: string; threads: number };
  xlsx: XlsxLimitsConfig;
  /** How long a SIGTERM/SIGINT waits for in-flight requests before closing anyway, in ms. */
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, expected: string, got: string) {
    super(`${variable}: expected ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
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
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, `an integer from ${min} to ${max}`, v);
    return n;
  }

  bytes(name: string, fallback: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = parseByteSize(v);
    if (n === undefined) throw new ConfigError(name, 'a positive byte size such as 1048576, 512MB or 5GiB', v);
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
    return v === undefined ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
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
    if (!ok) throw new ConfigError('WEIR_CORS_ORIGINS', 'a comma-separated list of origins such as https://app.example.com, or *', o);
  }
  return values.map((o) => o.replace(/\/$/, ''));
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
    corsOrigins: parseOrigins(r.list('WEIR_CORS_ORIGINS')),
    maxUploadBytes: r.bytes('WEIR_MAX_UPLOAD_BYTES', 5 * 1024 ** 3),
    maxBodyBytes: r.bytes('WEIR_MAX_BODY_BYTES', 1024 ** 2),
    previewMaxRows: r.int('WEIR_PREVIEW_MAX_ROWS', 1000, 1, 100_000),
    duckdb: {
      memoryLimit,
      threads: r.int('WEIR_DUCKDB_THREADS', availableParallelism(), 1, 1024),
    },
    xlsx: {
      maxEntries: r.int('WEIR_XLSX_MAX_ENTRIES', 10_000, 1, 1_000_000),
      maxUncompressedBytes: r.bytes('WEIR_XLSX_MAX_UNCOMPRESSED_BYTES', 1024 ** 3),
      maxRatio: r.int('WEIR_XLSX_MAX_RATIO', 200, 1, 100_000),
      maxCells: r.int('WEIR_XLSX_MAX_CELLS', 50_000_000, 1, 2_000_000_000),
    },
    shutdownTimeoutMs: r.int('WEIR_SHUTDOWN_TIMEOUT_MS', 30_000, 0, 600_000),
  };
}

/** Settings of the CLI client commands (they talk to a server over HTTP). */
export interface ClientConfig {
  url: string;
}

export function loadClientConfig(env: Env = process.env): ClientConfig {
  const url = (env.WEIR_URL ?? '').trim() || 'http://127.0.0.1:8080';
  try {
    new URL(url);
  } catch {
    throw new ConfigError('WEIR_URL', 'a URL such as http://127.0.0.1:8080', url);
  }
  return { url: url.replace(/\/$/, '') };
}
