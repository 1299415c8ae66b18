import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import * as m0001 from './migrations/0001_datasets.js';
import * as m0002 from './migrations/0002_identity.js';
import * as m0003 from './migrations/0003_jobs.js';
import * as m0004 from './migrations/0004_uploads.js';
import * as m0005 from './migrations/0005_storage.js';
import * as m0006 from './migrations/0006_pipelines.js';
import * as m0007 from './migrations/0007_invitations.js';
import * as m0008 from './migrations/0008_models.js';
import * as m0009 from './migrations/0009_connectors.js';
import type { Database } from './types.js';

export type Dialect = DatabaseConfig['dialect'];
export type Db = Kysely<Database>;

export interface MetadataStore {
  db: Db;
  dialect: Dialect;
  /** Cheap round trip used by readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Migrations in order. Names sort; never rename or edit one that has shipped: add a new one. */
const MIGRATIONS: Record<string, { up(db: Kysely<unknown>, dialect: Dialect): Promise<void> }> = {
  '0001_datasets': m0001,
  '0002_identity': m0002,
  '0003_jobs': m0003,
  '0004_uploads': m0004,
  '0005_storage': m0005,
  '0006_pipelines': m0006,
  '0007_invitations': m0007,
  '0008_models': m0008,
  '0009_connectors': m0009,
};

/**
 * `onConnectionError` hears errors of idle pooled PostgreSQL connections (a server restart, an administrator
 * terminating a backend): pg's pool re-emits them, and an unheard 'error' event would crash the process.
 * The pool drops the broken connection and opens a new one on the next query, so logging is all there is to do.
 */
export async function openMetadataStore(
  config: DatabaseConfig,
  onConnectionError: (err: Error) => void = () => {},
): Promise<MetadataStore> {
  let db: Db;
  if (config.dialect === 'sqlite') {
    mkdirSync(path.dirname(config.file), { recursive: true });
    const database = new SQLite(config.file);
    // WAL: readers never block the writer; NORMAL is durable across process crashes in WAL mode.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  } else {
    // Loaded only in PostgreSQL mode: the embedded default should not pay for it at start-up.
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: config.url, max: 10 });
    // Every client hears its own errors, checked out or idle: the pool listens only to idle ones, and a client
    // checked out between two queries (inside a transaction) that loses its connection would otherwise emit an
    // unheard 'error', which crashes the process. Its next query fails instead, and the pool drops it on release.
    // The pool's own re-emission of an idle client's error is then heard here already.
    pool.on('connect', (client) => client.on('error', onConnectionError));
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  return {
    db,
    dialect: config.dialect,
    async ping() {
      // A pooled connection the server has just terminated (a restart, pg_terminate_backend) may be handed out
      // before its close is heard: that failure says nothing about the database, and the pool drops the
      // connection. `select 1` is safe to repeat, so the probe tries again on another one, up to three times.
      for (let attempt = 1; ; attempt++) {
        try {
          await sql`select 1`.execute(db);
          return;
        } catch (e) {
          if (config.dialect !== 'postgres' || attempt >= 3 || !isLostConnection(e)) throw e;
        }
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Whether a PostgreSQL error says the connection went away (rather than that the query or the database failed). */
export function isLostConnection(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  // 57P01 admin_shutdown (pg_terminate_backend, a fast shutdown), 57P02 crash_shutdown.
  if (code === '57P01' || code === '57P02' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  return /connection terminated|connection ended|not queryable/i.test(e.message);
}

export async function migrateToLatest(store: MetadataStore): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) out[name] = { up: (db) => m.up(db, store.dialect) };
      return out;
    },
  };
  const migrator = new Migrator({ db: store.db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Kysely prepares every query anew; with better-sqlite3 preparing costs about as much as running a small query.
 * Statements are cached by their SQL text (Kysely binds values as parameters, so the texts repeat), bounded
 * so that ad-hoc SQL cannot grow the cache without limit. Safe because better-sqlite3 runs statements
 * synchronously: one statement is never in use twice at once.
 */
function withStatementCache(database: SQLite.Database, max = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(database, {
    get(target, prop, receiver) {
      // Closing drops the cached statements with the database: a statement object that outlives it would be
      // collected whenever GC runs, possibly while a worker's environment is being torn down (better-sqlite3's
      // "Assertion failed: (env) != nullptr" in ~Statement, reported on Node 24 test workers).
      if (prop === 'close') {
        return () => {
          cache.clear();
          return target.close();
        };
      }
      if (prop !== 'prepare') {
        const value = Reflect.get(target, prop, receiver) as unknown;
        // Native methods must see the real database as `this`, not the proxy.
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      return (source: string) => {
        let stmt = cache.get(source);
        if (!stmt) {
          stmt = target.prepare(source);
          if (cache.size >= max) cache.delete(cache.keys().next().value!);
          cache.set(source, stmt);
        }
        return stmt;
      };
    },
  });
}

/** True when the error is a unique-constraint violation, in either dialect. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  return (
    err?.code === '23505' || err?.code === 'SQLITE_CONSTRAINT_UNIQUE' || err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
