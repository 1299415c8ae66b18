import type { Db } from '../db/index.js';
import { isoOrNull, toIso } from '../db/values.js';
import type { Role } from './permissions.js';
import type { ApiKeyGrant, SessionGrant, Standing } from './records.js';

/**
 * What a token or a user stands for, read across users, sessions, API keys, memberships and workspaces in one round
 * trip each: the reads every authenticated request and every job's permission check make. Read-only; the tables
 * are written by their own repositories.
 */
export class PrincipalRepo {
  constructor(private readonly db: Db) {}

  /**
   * Everything one authenticated request needs about a JWT's user: the user, the session's state and the user's
   * role in the requested workspace (null when not a member) with its network rules.
   */
  async ofSession(userId: string, sessionId: string, workspaceId: string): Promise<SessionGrant | undefined> {
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
  async ofApiKey(keyId: string): Promise<ApiKeyGrant | undefined> {
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
}
