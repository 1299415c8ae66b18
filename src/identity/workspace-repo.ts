import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { WorkspacesTable } from '../db/types.js';
import { toIso } from '../db/values.js';
import type { Workspace } from './model.js';
import type { StoredNetworkRules } from './records.js';

/** The workspaces table: names, slugs and each workspace's network rules. */
export class WorkspaceRepo {
  /** `changed`: see IdentityRepos (src/identity/repo.ts); network rules decide what a token may reach. */
  constructor(
    private readonly db: Db,
    private readonly changed: () => void,
  ) {}

  async insert(ws: { id: string; slug: string; name: string }, now: string): Promise<void> {
    await this.db
      .insertInto('workspaces')
      .values({ id: ws.id, slug: ws.slug, name: ws.name, created_at: now })
      .execute();
  }

  async byId(id: string): Promise<Workspace | undefined> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWorkspace(row);
  }

  /** Names of these workspaces, by id (ids with no workspace are left out). */
  async names(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom('workspaces').select(['id', 'name']).where('id', 'in', ids).execute();
    return new Map(rows.map((w) => [w.id, w.name]));
  }

  async update(id: string, patch: { name?: string; ipAllow?: string[]; ipDeny?: string[] }): Promise<void> {
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
  async lock(id: string): Promise<void> {
    await this.db
      .updateTable('workspaces')
      .set((eb) => ({ slug: eb.ref('slug') }))
      .where('id', '=', id)
      .execute();
  }
}

export function toWorkspace(row: Selectable<WorkspacesTable>): Workspace {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    ipAllow: JSON.parse(row.ip_allow_json) as string[],
    ipDeny: JSON.parse(row.ip_deny_json) as string[],
    createdAt: toIso(row.created_at),
  };
}
