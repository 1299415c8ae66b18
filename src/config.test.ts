import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadClientConfig, loadConfig, parseByteSize } from './config.js';

describe('loadConfig', () => {
  it('gives the embedded default with no variables', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.database).toEqual({ dialect: 'sqlite', file: path.resolve('./data/weir.db') });
    expect(c.logLevel).toBe('info');
    expect(c.corsOrigins).toEqual([]);
    expect(c.maxUploadBytes).toBe(5 * 1024 ** 3);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      WEIR_PORT: '9000', WEIR_HOST: '0.0.0.0', WEIR_DATA_DIR: '/srv/weir', WEIR_DATABASE_URL: 'postgres://u@db:5432/weir',
      WEIR_MAX_UPLOAD_BYTES: '2GiB', WEIR_MAX_BODY_BYTES: '64kb', WEIR_LOG_LEVEL: 'DEBUG', WEIR_CORS_ORIGINS: 'https://a.example, http://localhost:5173',
      WEIR_DUCKDB_MEMORY_LIMIT: '2GB', WEIR_DUCKDB_THREADS: '4', WEIR_PREVIEW_MAX_ROWS: '50', WEIR_SHUTDOWN_TIMEOUT_MS: '1000',
      WEIR_XLSX_MAX_CELLS: '100', WEIR_XLSX_MAX_RATIO: '50', WEIR_XLSX_MAX_ENTRIES: '10', WEIR_XLSX_MAX_UNCOMPRESSED_BYTES: '1MB',
    });
    expect(c).toMatchObject({
      port: 9000, host: '0.0.0.0', dataDir: '/srv/weir', database: { dialect: 'postgres', url: 'postgres://u@db:5432/weir' },
      maxUploadBytes: 2 * 1024 ** 3, maxBodyBytes: 64_000, logLevel: 'debug', corsOrigins: ['https://a.example', 'http://localhost:5173'],
      duckdb: { memoryLimit: '2GB', threads: 4 }, previewMaxRows: 50, shutdownTimeoutMs: 1000,
      xlsx: { maxCells: 100, maxRatio: 50, maxEntries: 10, maxUncompressedBytes: 1_000_000 },
    });
    expect(loadConfig({ WEIR_DATABASE_URL: 'sqlite:/var/lib/weir/meta.db' }).database).toEqual({ dialect: 'sqlite', file: '/var/lib/weir/meta.db' });
  });

  it.each([
    ['WEIR_PORT', 'abc', 'WEIR_PORT: expected an integer from 0 to 65535, got "abc"'],
    ['WEIR_PORT', '70000', 'WEIR_PORT: expected an integer from 0 to 65535, got "70000"'],
    ['WEIR_LOG_LEVEL', 'loud', 'WEIR_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    ['WEIR_MAX_UPLOAD_BYTES', '10 parsecs', 'WEIR_MAX_UPLOAD_BYTES: expected a positive byte size such as 1048576, 512MB or 5GiB, got "10 parsecs"'],
    ['WEIR_MAX_UPLOAD_BYTES', '0', 'WEIR_MAX_UPLOAD_BYTES: expected a positive byte size'],
    ['WEIR_DATABASE_URL', 'mysql://x', 'WEIR_DATABASE_URL: expected a postgres://… or sqlite:<path> URL, got "mysql://x"'],
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
});

describe('parseByteSize', () => {
  it.each([
    ['1048576', 1048576], ['512MB', 512e6], ['5 GiB', 5 * 1024 ** 3], ['1.5kb', 1500], ['10KiB', 10240],
  ])('%s → %d', (raw, bytes) => expect(parseByteSize(raw)).toBe(bytes));
  it.each(['', '-1', '1XB', 'MB', '0'])('refuses %j', (raw) => expect(parseByteSize(raw)).toBeUndefined());
});

describe('loadClientConfig', () => {
  it('defaults to the local server and strips a trailing slash', () => {
    expect(loadClientConfig({}).url).toBe('http://127.0.0.1:8080');
    expect(loadClientConfig({ WEIR_URL: 'http://weir:9000/' }).url).toBe('http://weir:9000');
    expect(() => loadClientConfig({ WEIR_URL: 'not a url' })).toThrow(ConfigError);
  });
});
