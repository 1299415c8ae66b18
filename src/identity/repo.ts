import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import { toIso } from '../db/values.js';
import type { ApiKeysTable, UsersTable, WorkspacesTable } from '../db/types.js';
import type { Selectable } from 'kysely';
import type { ApiKey, Member, User, Workspace, WorkspaceWithRole } from './model.js';
import type { Permission, Role } from './permissions.js';
import type { ApiKeyGrant, RefreshTokenRecord, SessionGrant, Standing, StoredNetworkRules } from './records.js';

/** The tables of identity: users, workspaces, memberships, sessions, refresh tokens, API keys, instance secrets. */
export class IdentityRepo {
  /**
   * `changed` is called after every write that can change what a token resolves to (and again when a transaction
   * commits): the service drops its principal cache then (src/identity/principal-cache.ts).
   */
  constructor(
    private readonly db: Db,
    private readonly changed: () => void = () => {},
  ) {}

  // --- users

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertUser(
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

  async userByEmail(email: string): Promise<(User & { passwordHash: string }) | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row && { ...toUser(row), passwordHash: row.password_hash };
  }

  async userById(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async listUsers(limit: number, offset: number): Promise<{ items: User[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').limit(limit).offset(offset).execute(),
      this.countUsers(),
    ]);
    return { items: rows.map(toUser), total };
  }

  async touchLogin(userId: string, now: string): Promise<void> {
    await this.db.updateTable('users').set({ last_login_at: now }).where('id', '=', userId).execute();
  }

  // --- workspaces and memberships

  async insertWorkspace(ws: { id: string; slug: string; name: string }, now: string): Promise<void> {
    await this.db
      .insertInto('workspaces')
      .values({ id: ws.id, slug: ws.slug, name: ws.name, created_at: now })
      .execute();
  }

  async workspace(id: string): Promise<Workspace | undefined> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWorkspace(row);
  }

  /** Names of these workspaces, by id (ids with no workspace are left out). */
  async workspaceNames(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom('workspaces').select(['id', 'name']).where('id', 'in', ids).execute();
    return new Map(rows.map((w) => [w.id, w.name]));
  }

  async updateWorkspace(id: string, patch: { name?: string; ipAllow?: string[]; ipDeny?: string[] }): Promise<void> {
    const set: Partial<Record<'name' | 'ip_allow_json' | 'ip_deny_json', string>> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.ipAllow !== undefined) set.ip_allow_json = JSON.stringify(patch.ipAllow);
    if (patch.ipDeny !== undefined) set.ip_deny_json = JSON.stringify(patch.ipDeny);
    if (Object.keys(set).length > 0) await this.db.updateTable('workspaces').set(set).where('id', '=', id).execute();
    this.changed();
  }

  /** The stored network rules of a workspace (JSON arrays of CIDRs), or undefined when it does not exist. */
  async networkRulesOf(id: string): Promise<StoredNetworkRules | undefined> {
    const row = await this.db
      .selectFrom('workspaces')
      .select(['ip_allow_json', 'ip_deny_json'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { allowJson: row.ip_allow_json, denyJson: row.ip_deny_json };
  }

  /**
   * Inside a transaction: serializes membership changes of one workspace. A no-op update takes the row lock on
   * PostgreSQL (SELECT … FOR UPDATE is not SQLite syntax; SQLite's single writer serializes anyway), so two
   * concurrent demotions cannot both see "two owners" and leave none.
   */
  async lockWorkspace(id: string): Promise<void> {
    await this.db
      .updateTable('workspaces')
      .set((eb) => ({ slug: eb.ref('slug') }))
      .where('id', '=', id)
      .execute();
  }

  async workspacesOf(userId: string): Promise<WorkspaceWithRole[]> {
    const rows = await this.db
      .selectFrom('memberships as m')
      .innerJoin('workspaces as w', 'w.id', 'm.workspace_id')
      .selectAll('w')
      .select('m.role')
      .where('m.user_id', '=', userId)
      .orderBy('m.created_at')
      .orderBy('w.id')
      .execute();
    return rows.map((r) => ({ ...toWorkspace(r), role: r.role as Role }));
  }

  async defaultWorkspaceOf(userId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('memberships')
      .select('workspace_id')
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('workspace_id')
      .limit(1)
      .executeTakeFirst();
    return row?.workspace_id;
  }

  async roleOf(workspaceId: string, userId: string): Promise<Role | undefined> {
    const row = await this.db
      .selectFrom('memberships')
      .select('role')
      .where('workspace_id', '=', workspaceId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role as Role | undefined;
  }

  /** A user's standing in a workspace now: disabled, instance admin, and role there (null when not a member); undefined when no such user. */
  async standing(workspaceId: string, userId: string): Promise<Standing | undefined> {
    const row = await this.db
      .selectFrom('users as u')
      .leftJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 'u.id').on('m.workspace_id', '=', workspaceId))
      .select(['u.disabled', 'u.instance_admin', 'm.role'])
      .where('u.id', '=', userId)
      .executeTakeFirst();
    return (
      row && {
        disabled: row.disabled === 1,
        instanceAdmin: row.instance_admin === 1,
        role: (row.role ?? null) as Role | null,
      }
    );
  }

  async upsertMembership(workspaceId: string, userId: string, role: Role, now: string): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values({ workspace_id: workspaceId, user_id: userId, role, created_at: now })
      .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doUpdateSet({ role }))
      .execute();
    this.changed();
  }

  async deleteMembership(workspaceId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('memberships')
      .where('workspace_id', '=', workspaceId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    this.changed();
    return Number(r.numDeletedRows) > 0;
  }

  async countOwners(workspaceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('workspace_id', '=', workspaceId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async members(workspaceId: string): Promise<Member[]> {
    const rows = await this.db
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.id', 'u.email', 'u.display_name', 'm.role', 'm.created_at'])
      .where('m.workspace_id', '=', workspaceId)
      .orderBy('m.created_at')
      .orderBy('u.id')
      .execute();
    return rows.map((r) => ({
      userId: r.id,
      email: r.email,
      displayName: r.display_name,
      role: r.role as Role,
      addedAt: toIso(r.created_at),
    }));
  }

  /**
   * Everything one authenticated request needs about a JWT's user, in one round trip: the user, the session's
   * state and the user's role in the requested workspace (null when not a member) with its network rules.
   */
  async sessionPrincipal(userId: string, sessionId: string, workspaceId: string): Promise<SessionGrant | undefined> {
    const row = await this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .leftJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 'u.id').on('m.workspace_id', '=', workspaceId))
      .leftJoin('workspaces as w', 'w.id', 'm.workspace_id')
      .select([
        'u.email',
        'u.instance_admin',
        'u.disabled',
        's.revoked_at',
        's.expires_at',
        'm.role',
        'w.ip_allow_json',
        'w.ip_deny_json',
      ])
      .where('s.id', '=', sessionId)
      .where('s.user_id', '=', userId)
      .executeTakeFirst();
    return (
      row && {
        email: row.email,
        instanceAdmin: row.instance_admin === 1,
        disabled: row.disabled === 1,
        sessionRevokedAt: isoOrNull(row.revoked_at),
        sessionExpiresAt: toIso(row.expires_at),
        role: (row.role ?? null) as Role | null,
        rules:
          row.ip_allow_json !== null && row.ip_deny_json !== null
            ? { allowJson: row.ip_allow_json, denyJson: row.ip_deny_json }
            : null,
      }
    );
  }

  /** The same for an API key: the key, its workspace's rules, and its creator's current role there. */
  async apiKeyPrincipal(keyId: string): Promise<ApiKeyGrant | undefined> {
    const row = await this.db
      .selectFrom('api_keys as k')
      .innerJoin('workspaces as w', 'w.id', 'k.workspace_id')
      .innerJoin('users as u', 'u.id', 'k.created_by')
      .leftJoin('memberships as m', (j) =>
        j.onRef('m.user_id', '=', 'k.created_by').onRef('m.workspace_id', '=', 'k.workspace_id'),
      )
      .select([
        'k.id',
        'k.workspace_id',
        'k.secret_hash',
        'k.scopes_json',
        'k.created_by',
        'k.expires_at',
        'k.revoked_at',
        'u.email',
        'u.disabled',
        'm.role',
        'w.ip_allow_json',
        'w.ip_deny_json',
      ])
      .where('k.id', '=', keyId)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        workspaceId: row.workspace_id,
        secretHash: row.secret_hash,
        scopes: JSON.parse(row.scopes_json) as string[],
        createdBy: row.created_by,
        creatorEmail: row.email,
        creatorDisabled: row.disabled === 1,
        creatorRole: (row.role ?? null) as Role | null,
        expiresAt: isoOrNull(row.expires_at),
        revokedAt: isoOrNull(row.revoked_at),
        rules: { allowJson: row.ip_allow_json, denyJson: row.ip_deny_json },
      }
    );
  }

  // --- sessions and refresh tokens

  async insertSession(
    s: { id: string; userId: string; expiresAt: string; ip: string; userAgent: string | null },
    now: string,
  ): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id: s.id,
        user_id: s.userId,
        created_at: now,
        expires_at: s.expiresAt,
        revoked_at: null,
        revoked_reason: null,
        ip: s.ip,
        user_agent: s.userAgent,
      })
      .execute();
  }

  async revokeSession(id: string, reason: string, now: string): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    this.changed();
  }

  async revokeUserSessions(userId: string, reason: string, now: string): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
    this.changed();
  }

  async insertRefreshToken(
    t: { id: string; sessionId: string; tokenHash: string; expiresAt: string },
    now: string,
  ): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({
        id: t.id,
        session_id: t.sessionId,
        token_hash: t.tokenHash,
        created_at: now,
        expires_at: t.expiresAt,
        used_at: null,
      })
      .execute();
  }

  async refreshTokenByHash(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.db
      .selectFrom('refresh_tokens as r')
      .innerJoin('sessions as s', 's.id', 'r.session_id')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['r.id', 'r.session_id', 'r.expires_at', 'r.used_at', 's.user_id', 's.revoked_at', 'u.disabled'])
      .where('r.token_hash', '=', tokenHash)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        sessionId: row.session_id,
        userId: row.user_id,
        expiresAt: toIso(row.expires_at),
        usedAt: isoOrNull(row.used_at),
        sessionRevokedAt: isoOrNull(row.revoked_at),
        userDisabled: row.disabled === 1,
      }
    );
  }

  /** Marks a refresh token used; false when another request used it first (the rotation race is decided here). */
  async useRefreshToken(id: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  // --- API keys

  async insertApiKey(
    k: {
      id: string;
      workspaceId: string;
      name: string;
      secretHash: string;
      scopes: Permission[];
      createdBy: string;
      expiresAt: string | null;
    },
    now: string,
  ): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: k.id,
        workspace_id: k.workspaceId,
        name: k.name,
        secret_hash: k.secretHash,
        scopes_json: JSON.stringify(k.scopes),
        created_by: k.createdBy,
        created_at: now,
        expires_at: k.expiresAt,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
  }

  async apiKeys(workspaceId: string): Promise<ApiKey[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toApiKey);
  }

  async apiKey(workspaceId: string, id: string): Promise<ApiKey | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toApiKey(row);
  }

  async revokeApiKey(workspaceId: string, id: string, now: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    this.changed();
  }

  async touchApiKey(id: string, now: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  // --- instance secrets

  /** The stored secret, or `candidate` stored now: concurrent first starts of several nodes agree on one value. */
  async secret(name: string, candidate: string, now: string): Promise<string> {
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

  async transaction<T>(fn: (repo: IdentityRepo) => Promise<T>): Promise<T> {
    // Cleared again after the commit: a request resolved between a write and the commit would cache the old row.
    const result = await this.db.transaction().execute((trx) => fn(new IdentityRepo(trx, this.changed)));
    this.changed();
    return result;
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

function toWorkspace(row: Selectable<WorkspacesTable>): Workspace {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    ipAllow: JSON.parse(row.ip_allow_json) as string[],
    ipDeny: JSON.parse(row.ip_deny_json) as string[],
    createdAt: toIso(row.created_at),
  };
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    prefix: `weir_${row.id.slice(0, 14)}`,
    scopes: JSON.parse(row.scopes_json) as Permission[],
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    expiresAt: isoOrNull(row.expires_at),
    revokedAt: isoOrNull(row.revoked_at),
    lastUsedAt: isoOrNull(row.last_used_at),
  };
}

// Both dialects store flags as integers 0/1 (the columns are `integer` in PostgreSQL too) and timestamps as ISO
// strings in SQLite, Date in PostgreSQL: these rows become the domain objects above and go no further.
function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : toIso(value);
}
