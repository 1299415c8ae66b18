import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMinRate } from './config/limits.js';
import { parseRateLimit } from './config/rate-limits.js';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the embedded default with no variables', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.database).toEqual({ dialect: 'sqlite', file: path.resolve('./data/weir.db') });
    expect(c.logLevel).toBe('info');
    expect(c.logFormat).toBe('auto');
    expect(c.corsOrigins).toEqual([]);
    expect(c.maxUploadBytes).toBe(5 * 1024 ** 3);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      WEIR_PORT: '9000',
      WEIR_HOST: '0.0.0.0',
      WEIR_DATA_DIR: '/srv/weir',
      WEIR_DATABASE_URL: 'postgres://u@db:5432/weir',
      WEIR_MAX_UPLOAD_BYTES: '2GiB',
      WEIR_MAX_BODY_BYTES: '64kb',
      WEIR_LOG_LEVEL: 'DEBUG',
      WEIR_CORS_ORIGINS: 'https://a.example, http://localhost:5173',
      WEIR_DUCKDB_MEMORY_LIMIT: '2GB',
      WEIR_DUCKDB_THREADS: '4',
      WEIR_PREVIEW_MAX_ROWS: '50',
      WEIR_SHUTDOWN_TIMEOUT_MS: '1000',
      WEIR_XLSX_MAX_CELLS: '100',
      WEIR_XLSX_MAX_RATIO: '50',
      WEIR_XLSX_MAX_ENTRIES: '10',
      WEIR_XLSX_MAX_UNCOMPRESSED_BYTES: '1MB',
    });
    expect(c).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/srv/weir',
      database: { dialect: 'postgres', url: 'postgres://u@db:5432/weir' },
      maxUploadBytes: 2 * 1024 ** 3,
      maxBodyBytes: 64_000,
      logLevel: 'debug',
      corsOrigins: ['https://a.example', 'http://localhost:5173'],
      duckdb: { memoryLimit: '2GB', threads: 4 },
      previewMaxRows: 50,
      shutdownTimeoutMs: 1000,
      xlsx: { maxCells: 100, maxRatio: 50, maxEntries: 10, maxUncompressedBytes: 1_000_000 },
    });
    expect(loadConfig({ WEIR_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ WEIR_LOG_FORMAT: 'JSON' }).logFormat).toBe('json');
    expect(loadConfig({ WEIR_DATABASE_URL: 'sqlite:/var/lib/weir/meta.db' }).database).toEqual({
      dialect: 'sqlite',
      file: '/var/lib/weir/meta.db',
    });
  });

  it.each([
    ['WEIR_PORT', 'abc', 'WEIR_PORT: expected an integer from 0 to 65535, got "abc"'],
    ['WEIR_PORT', '70000', 'WEIR_PORT: expected an integer from 0 to 65535, got "70000"'],
    [
      'WEIR_LOG_LEVEL',
      'loud',
      'WEIR_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
    ['WEIR_LOG_FORMAT', 'colour', 'WEIR_LOG_FORMAT: expected one of auto, json, pretty, got "colour"'],
    [
      'WEIR_MAX_UPLOAD_BYTES',
      '10 parsecs',
      'WEIR_MAX_UPLOAD_BYTES: expected a positive byte size such as 1048576, 512MB or 5GiB, got "10 parsecs"',
    ],
    ['WEIR_MAX_UPLOAD_BYTES', '0', 'WEIR_MAX_UPLOAD_BYTES: expected a positive byte size'],
    [
      'WEIR_DATABASE_URL',
      'mysql://x',
      'WEIR_DATABASE_URL: expected a postgres://… or sqlite:<path> URL, got "mysql://x"',
    ],
    ['WEIR_CORS_ORIGINS', 'https://a.example/path', 'WEIR_CORS_ORIGINS: expected a comma-separated list of origins'],
    ['WEIR_DUCKDB_MEMORY_LIMIT', 'lots', 'WEIR_DUCKDB_MEMORY_LIMIT: expected a DuckDB memory size'],
    ['WEIR_DUCKDB_THREADS', '0', 'WEIR_DUCKDB_THREADS: expected an integer from 1 to 1024, got "0"'],
  ])('%s=%s stops start-up with a one-line message', (name, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ WEIR_PORT: '  ' }).port).toBe(8080);
  });

  it('bounds DuckDB work: output rows and bytes, preview time, spill space', () => {
    expect(loadConfig({}).work).toEqual({
      maxOutputRows: 100_000_000,
      maxOutputBytes: 10 * 1024 ** 3,
      previewTimeoutMs: 30_000,
      modelMaxRows: 2_000_000,
    });
    expect(loadConfig({}).duckdb.tempLimitBytes).toBe(20 * 1024 ** 3);
    const c = loadConfig({
      WEIR_MAX_OUTPUT_ROWS: '1000',
      WEIR_MAX_OUTPUT_BYTES: '64MiB',
      WEIR_PIPELINE_PREVIEW_TIMEOUT: '5s',
      WEIR_DUCKDB_TEMP_LIMIT: '2GB',
      WEIR_MODEL_MAX_ROWS: '500',
    });
    expect(c.work).toEqual({
      maxOutputRows: 1000,
      maxOutputBytes: 64 * 1024 ** 2,
      previewTimeoutMs: 5000,
      modelMaxRows: 500,
    });
    expect(c.duckdb.tempLimitBytes).toBe(2e9);
    expect(() => loadConfig({ WEIR_MAX_OUTPUT_ROWS: '0' })).toThrow(
      /WEIR_MAX_OUTPUT_ROWS: expected an integer from 1 to 9007199254740991, got "0"/,
    );
    expect(() => loadConfig({ WEIR_MAX_OUTPUT_ROWS: '1e9' })).toThrow(/WEIR_MAX_OUTPUT_ROWS: expected an integer/);
    expect(() => loadConfig({ WEIR_MAX_OUTPUT_BYTES: 'lots' })).toThrow(
      /WEIR_MAX_OUTPUT_BYTES: expected a positive byte size/,
    );
    expect(() => loadConfig({ WEIR_DUCKDB_TEMP_LIMIT: '90%' })).toThrow(
      /WEIR_DUCKDB_TEMP_LIMIT: expected a positive byte size/,
    );
    expect(() => loadConfig({ WEIR_PIPELINE_PREVIEW_TIMEOUT: '30' })).toThrow(
      /WEIR_PIPELINE_PREVIEW_TIMEOUT: expected a duration/,
    );
  });

  it('invitations last 7 days unless WEIR_INVITATION_TTL says otherwise (1 minute to 365 days)', () => {
    expect(loadConfig({}).auth.invitationTtlSeconds).toBe(7 * 86_400);
    expect(loadConfig({ WEIR_INVITATION_TTL: '36h' }).auth.invitationTtlSeconds).toBe(36 * 3600);
    expect(() => loadConfig({ WEIR_INVITATION_TTL: '30s' })).toThrow(
      /WEIR_INVITATION_TTL: expected a duration of at least 60000 ms/,
    );
    expect(() => loadConfig({ WEIR_INVITATION_TTL: '400d' })).toThrow(
      /WEIR_INVITATION_TTL: expected a duration of at most 365d, got "400d"/,
    );
  });
});

describe('slow clients and ingest limits', () => {
  it('defaults: headers 20 s, bodies 30 s, uploads at least 32 KiB per 30 s, keep-alive 72 s, 64 connections per address, 200 columns, 16 MiB lines', () => {
    const c = loadConfig({});
    expect(c.http).toEqual({
      headersTimeoutMs: 20_000,
      bodyTimeoutMs: 30_000,
      uploadMinRate: { bytes: 32 * 1024, windowMs: 30_000 },
      keepAliveTimeoutMs: 72_000,
      maxConnectionsPerAddress: 64,
    });
    expect(c.ingest).toEqual({ maxColumns: 200, csvMaxLineBytes: 16 * 1024 ** 2 });
  });

  it('reads every variable; off turns the rate and the cap off', () => {
    const c = loadConfig({
      WEIR_HTTP_HEADERS_TIMEOUT: '5s',
      WEIR_HTTP_BODY_TIMEOUT: '2m',
      WEIR_UPLOAD_MIN_RATE: '1MB/1m',
      WEIR_HTTP_KEEPALIVE_TIMEOUT: '500ms',
      WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '10',
      WEIR_MAX_COLUMNS: '5000',
      WEIR_CSV_MAX_LINE_BYTES: '64MiB',
    });
    expect(c.http).toEqual({
      headersTimeoutMs: 5000,
      bodyTimeoutMs: 120_000,
      uploadMinRate: { bytes: 1_000_000, windowMs: 60_000 },
      keepAliveTimeoutMs: 500,
      maxConnectionsPerAddress: 10,
    });
    expect(c.ingest).toEqual({ maxColumns: 5000, csvMaxLineBytes: 64 * 1024 ** 2 });
    const off = loadConfig({ WEIR_UPLOAD_MIN_RATE: 'off', WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: 'OFF' });
    expect(off.http).toMatchObject({ uploadMinRate: null, maxConnectionsPerAddress: null });
  });

  it.each([
    ['WEIR_UPLOAD_MIN_RATE', '32KiB', 'a size per duration'],
    ['WEIR_UPLOAD_MIN_RATE', '32KiB/10', 'a size per duration'],
    ['WEIR_UPLOAD_MIN_RATE', '1KiB/50ms', 'window at least 100ms'],
    ['WEIR_HTTP_BODY_TIMEOUT', '30', 'a duration'],
    ['WEIR_HTTP_HEADERS_TIMEOUT', '10ms', 'at least 100 ms'],
    ['WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS', '0', 'an integer from 1'],
    ['WEIR_MAX_COLUMNS', '0', 'an integer from 1'],
    ['WEIR_CSV_MAX_LINE_BYTES', '1GiB', 'at most 256MiB'],
  ])('%s=%s is refused, naming the variable', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^${name}: .*${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  it('parseMinRate reads a size per duration', () => {
    expect(parseMinRate('32KiB/30s')).toEqual({ bytes: 32 * 1024, windowMs: 30_000 });
    expect(parseMinRate(' 1 MB / 1m ')).toEqual({ bytes: 1_000_000, windowMs: 60_000 });
    expect(parseMinRate('off')).toBeNull();
    expect(parseMinRate('fast')).toBeUndefined();
  });
});

describe('rate limits, lockout and network settings', () => {
  it('defaults: generous budgets, lockout 5 per account / 20 per IP from 30 s to 1 h, no IP rules, no proxy, no HSTS', () => {
    const c = loadConfig({});
    expect(c.rateLimits).toEqual({
      user: { points: 600, windowSeconds: 60 },
      apiKey: { points: 1200, windowSeconds: 60 },
      ip: { points: 300, windowSeconds: 60 },
      login: { points: 10, windowSeconds: 60 },
      lockout: { accountThreshold: 5, ipThreshold: 20, windowSeconds: 900, baseSeconds: 30, maxSeconds: 3600 },
    });
    expect(c.ipRules).toEqual({ allow: [], deny: [] });
    expect(c.trustProxy).toBe(false);
    expect(c.hsts).toBe(false);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      WEIR_RATE_LIMIT_USER: '100/min',
      WEIR_RATE_LIMIT_API_KEY: '20/10s',
      WEIR_RATE_LIMIT_IP: 'off',
      WEIR_RATE_LIMIT_LOGIN: '5 / 2 minutes',
      WEIR_LOGIN_LOCKOUT_THRESHOLD: '3',
      WEIR_LOGIN_LOCKOUT_IP_THRESHOLD: 'OFF',
      WEIR_LOGIN_LOCKOUT_WINDOW_SECONDS: '60',
      WEIR_LOGIN_LOCKOUT_BASE_SECONDS: '10',
      WEIR_LOGIN_LOCKOUT_MAX_SECONDS: '600',
      WEIR_IP_ALLOW: '10.0.0.0/8, 2001:db8::/32',
      WEIR_IP_DENY: '10.6.6.6',
      WEIR_TRUST_PROXY: '10.0.0.1, loopback, fd00::/8',
      WEIR_HSTS: 'true',
    });
    expect(c.rateLimits).toEqual({
      user: { points: 100, windowSeconds: 60 },
      apiKey: { points: 20, windowSeconds: 10 },
      ip: null,
      login: { points: 5, windowSeconds: 120 },
      lockout: { accountThreshold: 3, ipThreshold: null, windowSeconds: 60, baseSeconds: 10, maxSeconds: 600 },
    });
    expect(c.ipRules).toEqual({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.6'] });
    expect(c.trustProxy).toEqual(['10.0.0.1', 'loopback', 'fd00::/8']);
    expect(c.hsts).toBe(true);
  });

  it.each([
    ['false', false],
    ['FALSE', false],
    ['true', true],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    ['Loopback,::1', ['loopback', '::1']],
  ])('WEIR_TRUST_PROXY=%s → %j (what Fastify trustProxy accepts)', (raw, expected) => {
    expect(loadConfig({ WEIR_TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it.each([
    ['100/min', { points: 100, windowSeconds: 60 }],
    ['20/10s', { points: 20, windowSeconds: 10 }],
    ['5000/h', { points: 5000, windowSeconds: 3600 }],
    ['1/sec', { points: 1, windowSeconds: 1 }],
    ['7/3hours', { points: 7, windowSeconds: 10_800 }],
    ['60 / 1 minute', { points: 60, windowSeconds: 60 }],
    ['10/24h', { points: 10, windowSeconds: 86_400 }],
    ['off', null],
    [' OFF ', null],
  ])('parseRateLimit(%j) → %j', (raw, expected) => expect(parseRateLimit(raw)).toEqual(expected));

  it.each(['', '100', '0/min', '100/0s', '100/min/s', '-1/min', '10/day', '10/25h', '1.5/min', 'min/100'])(
    'parseRateLimit refuses %j',
    (raw) => {
      expect(parseRateLimit(raw)).toBeUndefined();
    },
  );

  it.each([
    [
      'WEIR_RATE_LIMIT_USER',
      '100 per minute',
      'WEIR_RATE_LIMIT_USER: expected a rate such as 100/min, 20/10s or 5000/h (window up to 24h), or off, got "100 per minute"',
    ],
    ['WEIR_RATE_LIMIT_LOGIN', '0/min', 'WEIR_RATE_LIMIT_LOGIN: expected a rate such as 100/min'],
    [
      'WEIR_LOGIN_LOCKOUT_THRESHOLD',
      '0',
      'WEIR_LOGIN_LOCKOUT_THRESHOLD: expected an integer from 1 to 1000000, got "0"',
    ],
    [
      'WEIR_LOGIN_LOCKOUT_IP_THRESHOLD',
      'never',
      'WEIR_LOGIN_LOCKOUT_IP_THRESHOLD: expected an integer from 1 to 1000000, got "never"',
    ],
    [
      'WEIR_LOGIN_LOCKOUT_MAX_SECONDS',
      '10',
      'WEIR_LOGIN_LOCKOUT_MAX_SECONDS: expected at least WEIR_LOGIN_LOCKOUT_BASE_SECONDS (30), got "10"',
    ],
    [
      'WEIR_IP_ALLOW',
      '10.0.0.0/8,10.0.0.0/40',
      'WEIR_IP_ALLOW: expected comma-separated IPv4/IPv6 addresses or CIDR blocks (prefix length must be an integer from 0 to 32), got "10.0.0.0/40"',
    ],
    [
      'WEIR_IP_DENY',
      'evil.example',
      'WEIR_IP_DENY: expected comma-separated IPv4/IPv6 addresses or CIDR blocks ("evil.example" is not an IPv4 or IPv6 address), got "evil.example"',
    ],
    ['WEIR_TRUST_PROXY', '0', 'WEIR_TRUST_PROXY: expected an integer from 1 to 100, got "0"'],
    [
      'WEIR_TRUST_PROXY',
      'yes',
      'WEIR_TRUST_PROXY: expected false, true, a hop count, or comma-separated proxy addresses/CIDRs ("yes" is not an IPv4 or IPv6 address), got "yes"',
    ],
    ['WEIR_HSTS', 'on', 'WEIR_HSTS: expected one of true, false, got "on"'],
  ])('%s=%s stops start-up naming the variable', (name, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toContain(message);
  });
});
