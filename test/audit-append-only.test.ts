import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../src/config.js';
import { migrateToLatest, openMetadataStore, type MetadataStore } from '../src/db/index.js';
import { createTestDatabase, dialectUnderTest, pgAdminUrl } from './helpers/app.js';

/**
 * The audit log is append-only in the database itself, on SQLite or (WEIR_TEST_DATABASE_URL) PostgreSQL:
 * raw SQL through the app's own connection can neither change nor remove a row.
 */
let store: MetadataStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  let config: DatabaseConfig;
  if (pgAdminUrl) {
    const database = await createTestDatabase(pgAdminUrl);
    config = { dialect: 'postgres', url: database.url };
    cleanup = () => database.drop();
  } else {
    const dir = await mkdtemp(path.join(tmpdir(), 'weir-audit-'));
    config = { dialect: 'sqlite', file: path.join(dir, 'weir.db') };
    cleanup = () => rm(dir, { recursive: true, force: true });
  }
  store = await openMetadataStore(config);
  await migrateToLatest(store);
  for (const id of ['aud_1', 'aud_2']) {
    await store.db
      .insertInto('audit_events')
      .values({ id, at: new Date().toISOString(), actor_type: 'system', action: 'test.append', outcome: 'success' })
      .execute();
  }
});

afterAll(async () => {
  await store?.close();
  await cleanup?.();
});

const rowCount = async (): Promise<number> =>
  Number(
    (
      await store.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe(`audit_events is append-only (${dialectUnderTest})`, () => {
  it('refuses a raw UPDATE', async () => {
    await expect(sql`UPDATE audit_events SET outcome = 'failure'`.execute(store.db)).rejects.toThrow(/append-only/);
  });

  it('refuses a raw DELETE, of one row or of all', async () => {
    await expect(sql`DELETE FROM audit_events WHERE id = 'aud_1'`.execute(store.db)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM audit_events`.execute(store.db)).rejects.toThrow(/append-only/);
    expect(await rowCount()).toBe(2);
  });

  it.runIf(dialectUnderTest === 'postgres')('refuses TRUNCATE', async () => {
    await expect(sql`TRUNCATE audit_events`.execute(store.db)).rejects.toThrow(/append-only/);
    expect(await rowCount()).toBe(2);
  });

  it('still takes new rows', async () => {
    const before = await rowCount();
    await store.db
      .insertInto('audit_events')
      .values({
        id: 'aud_3',
        at: new Date().toISOString(),
        actor_type: 'system',
        action: 'test.append',
        outcome: 'success',
      })
      .execute();
    expect(await rowCount()).toBe(before + 1);
  });
});
