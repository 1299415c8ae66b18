import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { UsersTable } from '../db/types.js';
import { isoOrNull, toIso } from '../db/values.js';
import type { User } from './model.js';

/** The users table: accounts and their password hashes. */
export class UserRepo {
  constructor(private readonly db: Db) {}

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(
    user: { id: string; email: string; displayName: string; passwordHash: string; instanceAdmin: boolean },
    now: string,
  ): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        id: user.id,
        email: user.email,
        display_name: user.displayName,
        password_hash: user.passwordHash,
        instance_admin: user.instanceAdmin ? 1 : 0,
        disabled: 0,
        created_at: now,
        updated_at: now,
        last_login_at: null,
      })
      .execute();
  }

  async byEmail(email: string): Promise<(User & { passwordHash: string }) | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row && { ...toUser(row), passwordHash: row.password_hash };
  }

  async byId(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async list(limit: number, offset: number): Promise<{ items: User[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').limit(limit).offset(offset).execute(),
      this.count(),
    ]);
    return { items: rows.map(toUser), total };
  }

  async touchLogin(userId: string, now: string): Promise<void> {
    await this.db.updateTable('users').set({ last_login_at: now }).where('id', '=', userId).execute();
  }

  /** Lower-cased email uniqueness is enforced by storing lower case; this is the case-insensitive existence check. */
  async emailTaken(email: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('users')
      .select(sql<number>`1`.as('one'))
      .where('email', '=', email)
      .executeTakeFirst();
    return row !== undefined;
  }
}

// Both dialects store flags as integers 0/1 (the columns are `integer` in PostgreSQL too).
function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    instanceAdmin: row.instance_admin === 1,
    disabled: row.disabled === 1,
    createdAt: toIso(row.created_at),
    lastLoginAt: isoOrNull(row.last_login_at),
  };
}
