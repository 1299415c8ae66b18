import type { Db } from '../db/index.js';

/** The instance_secrets table: values every node of an instance must share, such as the token signing secret. */
export class SecretRepo {
  constructor(private readonly db: Db) {}

  /** The stored secret, or `candidate` stored now: concurrent first starts of several nodes agree on one value. */
  async get(name: string, candidate: string, now: string): Promise<string> {
    await this.db
      .insertInto('instance_secrets')
      .values({ name, value: candidate, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('instance_secrets')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return row.value;
  }
}
