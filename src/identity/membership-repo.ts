import type { Db } from '../db/index.js';
import { toIso } from '../db/values.js';
import type { Member, WorkspaceWithRole } from './model.js';
import type { Role } from './permissions.js';
import { toWorkspace } from './workspace-repo.js';

/** The memberships table: who belongs to which workspace, with which role (read with the users and workspaces). */
export class MembershipRepo {
  /** `changed`: see IdentityRepos (src/identity/repo.ts); a role is what a token's permissions come from. */
  constructor(
    private readonly db: Db,
    private readonly changed: () => void,
  ) {}

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

  async upsert(workspaceId: string, userId: string, role: Role, now: string): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values({ workspace_id: workspaceId, user_id: userId, role, created_at: now })
      .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doUpdateSet({ role }))
      .execute();
    this.changed();
  }

  async delete(workspaceId: string, userId: string): Promise<boolean> {
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
}
