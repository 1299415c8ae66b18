import type { Clock } from '../clock.js';
import { AppError, errors } from '../errors.js';
import type { Principal } from '../http/access.js';
import type { IdentityChangePublisher } from './changes.js';
import type { Member, WorkspaceWithRole } from './model.js';
import { mayGrant, type Role } from './permissions.js';
import type { IdentityRepos } from './repo.js';
import type { Users } from './users.js';

/**
 * Memberships and roles. Every change of a workspace's members runs in a transaction that locks the workspace, so
 * concurrent changes cannot leave it without an owner.
 */
export class Members {
  constructor(
    private readonly repos: Pick<IdentityRepos, 'memberships' | 'transaction'>,
    private readonly users: Pick<Users, 'create'>,
    private readonly changes: IdentityChangePublisher,
    private readonly clock: Clock,
  ) {}

  list(workspaceId: string): Promise<Member[]> {
    return this.repos.memberships.members(workspaceId);
  }

  /**
   * An instance administrator creates an account straight into a workspace. Existing accounts are invited instead
   * (src/identity/invitations.ts): nobody becomes a member of a workspace without accepting.
   */
  async create(
    actor: Principal,
    workspaceId: string,
    input: { email: string; role: Role; password: string; displayName?: string },
  ): Promise<Member> {
    assertCanGrant(actor, input.role);
    // Choosing someone's password is an instance administrator's act: a workspace owner (which any user can
    // become by creating a workspace) could otherwise claim accounts for addresses that are not theirs.
    if (!actor.instanceAdmin) {
      throw new AppError(
        'forbidden',
        'Only an instance administrator can create accounts; invite the person by email without a password',
        [{ pointer: '/body/password', message: 'needs system:admin' }],
      );
    }
    const user = await this.users.create({ ...input, workspaceId });
    return (await this.repos.memberships.members(workspaceId)).find((m) => m.userId === user.id)!;
  }

  /** Makes a user a member with `role` (an accepted invitation); a user who already is one keeps their role. */
  async join(workspaceId: string, userId: string, role: Role): Promise<WorkspaceWithRole> {
    await this.repos.transaction(async (repos) => {
      await repos.workspaces.lock(workspaceId);
      if ((await repos.memberships.roleOf(workspaceId, userId)) === undefined)
        await repos.memberships.upsert(workspaceId, userId, role, this.clock.now().toISOString());
    });
    return (await this.repos.memberships.workspacesOf(userId)).find((w) => w.id === workspaceId)!;
  }

  async changeRole(actor: Principal, workspaceId: string, userId: string, role: Role): Promise<Member> {
    await this.repos.transaction(async (repos) => {
      await repos.workspaces.lock(workspaceId);
      const current = await repos.memberships.roleOf(workspaceId, userId);
      if (!current) throw errors.notFound('Member', userId);
      assertCanGrant(actor, role);
      assertCanGrant(actor, current);
      if (current === 'owner' && role !== 'owner' && (await repos.memberships.countOwners(workspaceId)) <= 1)
        throw errors.conflict('A workspace must keep at least one owner');
      await repos.memberships.upsert(workspaceId, userId, role, this.clock.now().toISOString());
    });
    await this.changes.publish({ kind: 'member.role_changed', workspaceId, userId });
    return (await this.repos.memberships.members(workspaceId)).find((m) => m.userId === userId)!;
  }

  async remove(actor: Principal, workspaceId: string, userId: string): Promise<void> {
    await this.repos.transaction(async (repos) => {
      await repos.workspaces.lock(workspaceId);
      const current = await repos.memberships.roleOf(workspaceId, userId);
      if (!current) throw errors.notFound('Member', userId);
      assertCanGrant(actor, current);
      if (current === 'owner' && (await repos.memberships.countOwners(workspaceId)) <= 1)
        throw errors.conflict('A workspace must keep at least one owner');
      await repos.memberships.delete(workspaceId, userId);
    });
    await this.changes.publish({ kind: 'member.removed', workspaceId, userId });
  }
}

/** Nobody hands out, or takes away, a role above their own; only owners manage owners. */
export function assertCanGrant(actor: Principal, role: Role): void {
  if (!mayGrant(actor.role, role))
    throw new AppError(
      'forbidden',
      `A${actor.role === 'admin' ? 'n' : ''} ${actor.role ?? 'non-member'} cannot manage the role '${role}'`,
    );
}
