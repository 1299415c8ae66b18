import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';

export interface EngineOptions {
  memoryLimit: string;
  threads: number;
  /** Spill directory for operations larger than memory. */
  tempDir: string;
  /** Most bytes the spill directory may hold, for the whole instance: past it, work fails with an Out of Memory Error. */
  tempLimitBytes: number;
}

/** How often an abort interrupts the connection's query again, until the work it aborts has ended. */
const INTERRUPT_REPEAT_MS = 50;

/**
 * One in-memory DuckDB instance per process, over Parquet files on disk. Each operation gets its own
 * connection (cheap) so concurrent requests do not serialize on one connection; `close()` waits for none:
 * callers stop issuing work first (graceful shutdown closes HTTP before the engine).
 *
 * The instance opens on first use (`Engine.lazy`): DuckDB and its native library cost a process about 40 MiB and
 * a few hundred milliseconds, which an API process that serves no preview, query or ingest never needs to pay.
 */
export class Engine {
  private closed = false;
  private readonly active = new Set<DuckDBConnection>();
  private instance: DuckDBInstance | null = null;
  private opening: Promise<DuckDBInstance> | null = null;
  private cachedVersion: string | null = null;

  private constructor(private readonly options: EngineOptions) {}

  /** An engine that opens its instance when the first operation needs it (an invalid setting fails that operation). */
  static lazy(options: EngineOptions): Engine {
    return new Engine(options);
  }

  /** An engine whose instance is open (an invalid setting fails here). */
  static async open(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options);
    await engine.connectable();
    return engine;
  }

  /** Whether the instance has been opened (it opens on first use). */
  get opened(): boolean {
    return this.instance !== null;
  }

  private connectable(): Promise<DuckDBInstance> {
    if (this.instance) return Promise.resolve(this.instance);
    // A failed open is not cached: the next operation tries again (a full spill disk may have been freed).
    this.opening ??= openInstance(this.options).then(
      (instance) => {
        if (this.closed) {
          instance.closeSync();
          throw new Error('engine is closed');
        }
        return (this.instance = instance);
      },
      (e: unknown) => {
        this.opening = null;
        throw e;
      },
    );
    return this.opening;
  }

  /**
   * Runs `fn` on a connection of its own. When `signal` aborts, the connection's running query is interrupted
   * (DuckDB stops at its next check, within milliseconds even mid-COPY) and the call rejects with the signal's
   * reason rather than DuckDB's "Interrupted" error, so callers see why their work stopped.
   */
  async withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closed) throw new Error('engine is closed');
    signal?.throwIfAborted();
    const connection = await (await this.connectable()).connect();
    this.active.add(connection);
    // DuckDB forgets an interrupt when the next query begins: one that lands between two of fn's queries, or while
    // one is being started, would be lost and the rest of fn would run to its end. So it is repeated until fn ends.
    let repeating: NodeJS.Timeout | undefined;
    const interrupt = () => {
      connection.interrupt();
      repeating ??= setInterval(() => connection.interrupt(), INTERRUPT_REPEAT_MS);
    };
    signal?.addEventListener('abort', interrupt, { once: true });
    try {
      // An abort while connecting has no query to interrupt yet: this check covers it.
      signal?.throwIfAborted();
      return await fn(connection);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw e;
    } finally {
      signal?.removeEventListener('abort', interrupt);
      clearInterval(repeating);
      this.active.delete(connection);
      connection.closeSync();
    }
  }

  async run(sql: string, params?: DuckDBValue[], signal?: AbortSignal): Promise<void> {
    await this.withConnection(async (c) => {
      await c.run(sql, params);
    }, signal);
  }

  /** All rows as plain objects of JSON-safe values (see toPlain). For small results only. */
  async all(sql: string, params?: DuckDBValue[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    return this.withConnection(async (c) => {
      const reader = await c.runAndReadAll(sql, params);
      return reader.getRowObjectsJS().map((row) => toPlainObject(row));
    }, signal);
  }

  /** All rows as arrays, with column names. */
  async rows(
    sql: string,
    params?: DuckDBValue[],
    signal?: AbortSignal,
  ): Promise<{ columns: string[]; rows: unknown[][] }> {
    return this.withConnection(async (c) => {
      const reader = await c.runAndReadAll(sql, params);
      return { columns: reader.columnNames(), rows: reader.getRowsJS().map((r) => r.map(toPlain)) };
    }, signal);
  }

  /**
   * The columns a query would answer, with DuckDB's type names, without computing its rows (the query is bound and
   * planned under `LIMIT 0`; a Parquet source is read for its footer only).
   */
  async describe(
    sql: string,
    params?: DuckDBValue[],
    signal?: AbortSignal,
  ): Promise<{ name: string; type: string; nullable: boolean }[]> {
    return this.withConnection(async (c) => {
      const reader = await c.runAndReadAll(`SELECT * FROM (${sql}) AS described LIMIT 0`, params);
      const names = reader.columnNames();
      return reader.columnTypes().map((t, i) => ({ name: names[i]!, type: t.toString(), nullable: true }));
    }, signal);
  }

  /** Connections with work in progress (for tests and metrics: 0 once every interrupted query has stopped). */
  get busyConnections(): number {
    return this.active.size;
  }

  /** Readiness: an open instance answers a query; one not opened yet is not opened for this (nothing can fail yet). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error('engine is closed');
    if (!this.instance) return;
    const [row] = await this.all('SELECT 42 AS answer');
    if (row?.answer !== 42) throw new Error('DuckDB did not answer');
  }

  /** DuckDB's version (`v1.5.6`); opens the instance if needed. */
  async version(): Promise<string> {
    if (this.cachedVersion === null) {
      const [row] = await this.all('SELECT version() AS v');
      this.cachedVersion = String(row?.v ?? 'unknown');
    }
    return this.cachedVersion;
  }

  /** Interrupts running queries and closes the instance (if it was opened). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.active) c.interrupt();
    this.instance?.closeSync();
    this.instance = null;
  }
}

async function openInstance(options: EngineOptions): Promise<DuckDBInstance> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: options.memoryLimit,
    threads: String(options.threads),
    temp_directory: options.tempDir,
    // Nothing may be downloaded at run time: the extensions Weir uses (parquet, json, icu) are built in.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'true',
    enable_external_access: 'true',
  });
  // TimeZone needs the built-in ICU extension, which is loaded after creation, so it is set here. So is the spill
  // limit: given at creation, DuckDB 1.5 reports it but does not enforce it (its spill grew 36× past it). GLOBAL
  // settings hold for every connection, and no statement Weir runs changes them.
  try {
    const setup = await instance.connect();
    try {
      await setup.run("SET GLOBAL TimeZone = 'UTC'");
      await setup.run(`SET GLOBAL max_temp_directory_size = '${options.tempLimitBytes}B'`);
    } finally {
      setup.closeSync();
    }
  } catch (e) {
    instance.closeSync();
    throw e;
  }
  return instance;
}

/** The kinds of DuckDB error that the statement's input causes (a type, a value), as opposed to the engine's own. */
export type InputErrorKind = 'Binder' | 'Conversion' | 'Out of Range' | 'Invalid Input';

/**
 * A DuckDB error caused by the statement's input, with the first line of DuckDB's message (later lines quote the
 * SQL, which holds file paths); null for any other error.
 */
export function inputError(e: unknown): { kind: InputErrorKind; detail: string } | null {
  if (!(e instanceof Error)) return null;
  const match = /^(Binder|Conversion|Out of Range|Invalid Input) Error: (.*)$/.exec(e.message.split('\n', 1)[0] ?? '');
  return match ? { kind: match[1] as InputErrorKind, detail: match[2]! } : null;
}

/**
 * DuckDB ran out of what it may use: memory past WEIR_DUCKDB_MEMORY_LIMIT that could not be spilled, or a spill past
 * the temp directory's limit (WEIR_DUCKDB_TEMP_LIMIT). The work was stopped and nothing of it is kept.
 */
export function isOutOfMemory(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith('Out of Memory Error');
}

/** bigint → number when exact, else decimal string; Date → ISO; nested values recursively. */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint')
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object') return toPlainObject(value as Record<string, unknown>);
  return value;
}

function toPlainObject(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = toPlain(v);
  return out;
}
