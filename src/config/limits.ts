import { ConfigError, parseByteSize, parseDuration, type Reader } from './reader.js';

/** Bounds on what one request or one piece of work may take: HTTP clients, ingested files, DuckDB work. */

export interface XlsxLimitsConfig {
  maxEntries: number;
  maxUncompressedBytes: number;
  maxRatio: number;
  maxCells: number;
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
  /** Rows a model trains on (WEIR_MODEL_MAX_ROWS): training on a larger dataset version fails with a clear error. */
  modelMaxRows: number;
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
export function parseHttpLimits(r: Reader): HttpLimitsConfig {
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
export function csvMaxLineBytes(r: Reader): number {
  const bytes = r.bytes('WEIR_CSV_MAX_LINE_BYTES', 16 * 1024 ** 2);
  if (bytes > 256 * 1024 ** 2)
    throw new ConfigError('WEIR_CSV_MAX_LINE_BYTES', 'a byte size of at most 256MiB', String(bytes));
  return bytes;
}
