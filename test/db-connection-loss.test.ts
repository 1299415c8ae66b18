import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMetadataStore, type MetadataStore } from '../src/db/index.js';
import { createTestDatabase, pgAdminUrl } from './helpers/app.js';

/**
 * PostgreSQL terminating the connection of a client that is checked out between two queries (inside a
 * transaction): the error is heard and logged, the transaction fails, the process does not crash (an unheard
 * 'error' event would be an uncaught exception, which fails this file), and the next query works.
 */
describe.skipIf(!pgAdminUrl)('a PostgreSQL connection lost inside a transaction', () => {
  let database: { url: string; drop(): Promise<void> };
  let store: MetadataStore;
  const lost: Error[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(pgAdminUrl!);
    store = await openMetadataStore({ dialect: 'postgres', url: database.url }, (err) => lost.push(err));
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('is logged, fails the transaction, and leaves the pool working', async () => {
    const { default: pg } = await import('pg');
    const transaction = store.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      const admin = new pg.Client({ connectionString: pgAdminUrl });
      await admin.connect();
      try {
        const name = new URL(database.url).pathname.slice(1);
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
      } finally {
        await admin.end();
      }
      // Between two queries: the client is checked out, with no query of its own running.
      await expect.poll(() => lost.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await sql`select 2`.execute(trx);
    });
    await expect(transaction).rejects.toThrow();
    expect(lost.map((e) => (e as Error & { code?: string }).code)).toContain('57P01');
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });
});
