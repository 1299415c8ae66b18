import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { ApiKeysTable } from '../db/types.js';
import { isoOrNull, toIso } from '../db/values.js';
import type { ApiKey } from './model.js';
import type { Permission } from './permissions.js';

/** The api_keys table: a workspace's keys (the secrets' hashes only). */
export class ApiKeyRepo {
  /** `changed`: see IdentityRepos (src/identity/repo.ts); a revoked key is refused from the next request on. */
  constructor(
    private readonly db: Db,
    private readonly changed: () => void,
  ) {}

  async insert(
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

  async ofWorkspace(workspaceId: string): Promise<ApiKey[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toApiKey);
  }

  async byId(workspaceId: string, id: string): Promise<ApiKey | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toApiKey(row);
  }

  async revoke(workspaceId: string, id: string, now: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    this.changed();
  }

  async touch(id: string, now: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  }
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
