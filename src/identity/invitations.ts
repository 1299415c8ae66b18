import type { Clock } from '../clock.js';
import { isUniqueViolation } from '../db/index.js';
import { AppError, errors } from '../errors.js';
import type { Principal } from '../http/access.js';
import { newId } from '../ids.js';
import type { InvitationRepo, InvitationRecord } from './invitation-repo.js';
import type { Invitation, WorkspaceWithRole } from './model.js';
import { mayGrant, permissionsOf, type Role } from './permissions.js';
import { assertCanGrant, type Members } from './members.js';
import { normalizeEmail } from './users.js';

/**
 * Invitations: a member with `members:manage` invites an email address; the person becomes a member only by
 * accepting. Inviting answers the same whether or not an account has the address (no lookup of users happens at
 * all), so the route cannot be used to find out who has an account. No email is sent: the inviter shares the
 * invitation's id, and the invitee also finds it in their own list once logged in.
 */
export class InvitationService {
  constructor(
    private readonly repo: InvitationRepo,
    /** Memberships are made through Members, so its bookkeeping (caches, change events) applies. */
    private readonly members: Pick<Members, 'join'>,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {}

  /** Invites `email`, or renews the open invitation it already has (new role, inviter and expiry). */
  async invite(actor: Principal, workspaceId: string, input: { email: string; role: Role }): Promise<Invitation> {
    assertCanGrant(actor, input.role);
    const email = normalizeEmail(input.email);
    if (await this.repo.isMember(workspaceId, email))
      throw errors.conflict(`'${email}' is already a member of this workspace`);
    const now = this.clock.nowMs();
    const renewal = {
      role: input.role,
      invitedBy: actor.userId,
      expiresAt: new Date(now + this.ttlSeconds * 1000).toISOString(),
    };
    let id = await this.repo.renewOpen(workspaceId, email, renewal);
    if (id === undefined) {
      id = newId('inv', now);
      try {
        await this.repo.insert({ id, workspaceId, email, ...renewal, createdAt: new Date(now).toISOString() });
      } catch (e) {
        // A concurrent invitation of the same address made the open one first: renew that one instead.
        if (!isUniqueViolation(e)) throw e;
        id = await this.repo.renewOpen(workspaceId, email, renewal);
        if (id === undefined) throw e;
      }
    }
    return (await this.repo.byId(id, now))!.invitation;
  }

  ofWorkspace(workspaceId: string, limit: number, offset: number): Promise<{ items: Invitation[]; total: number }> {
    return this.repo.ofWorkspace(workspaceId, limit, offset, this.clock.nowMs());
  }

  /** Withdraws an unanswered invitation (an expired one too, so it leaves the list of open ones). */
  async revoke(actor: Principal, workspaceId: string, id: string): Promise<Invitation> {
    const found = await this.repo.byId(id, this.clock.nowMs());
    if (!found || found.invitation.workspaceId !== workspaceId) throw errors.notFound('Invitation', id);
    assertCanGrant(actor, found.invitation.role);
    if (!(await this.repo.answer(id, 'revoked', this.clock.now().toISOString())))
      throw notPending((await this.repo.byId(id, this.clock.nowMs()))!.invitation);
    return (await this.repo.byId(id, this.clock.nowMs()))!.invitation;
  }

  /** The caller's invitations that can still be accepted. */
  async mine(caller: Principal): Promise<Invitation[]> {
    return this.repo.openFor(personEmail(caller), this.clock.nowMs());
  }

  async accept(caller: Principal, id: string): Promise<{ invitation: Invitation; workspace: WorkspaceWithRole }> {
    const { invitation, inviterRole } = await this.openFor(caller, id);
    // The invitation carries its sender's authority: it lapses once they could no longer grant the role themselves.
    if (
      inviterRole === null ||
      !permissionsOf(inviterRole).has('members:manage') ||
      !mayGrant(inviterRole, invitation.role)
    ) {
      throw errors.conflict(
        `The invitation to '${invitation.workspaceName}' is no longer valid: whoever sent it can no longer grant the role '${invitation.role}'. Ask a member of the workspace for a new invitation.`,
      );
    }
    const now = this.clock.now().toISOString();
    if (!(await this.repo.answer(id, 'accepted', now, now)))
      throw closed((await this.repo.byId(id, this.clock.nowMs()))!.invitation);
    const workspace = await this.members.join(invitation.workspaceId, caller.userId, invitation.role);
    return { invitation: (await this.repo.byId(id, this.clock.nowMs()))!.invitation, workspace };
  }

  async decline(caller: Principal, id: string): Promise<Invitation> {
    await this.openFor(caller, id);
    const now = this.clock.now().toISOString();
    if (!(await this.repo.answer(id, 'declined', now, now)))
      throw closed((await this.repo.byId(id, this.clock.nowMs()))!.invitation);
    return (await this.repo.byId(id, this.clock.nowMs()))!.invitation;
  }

  /** The invitation, if it is addressed to the caller (otherwise it does not exist for them) and still open. */
  private async openFor(caller: Principal, id: string): Promise<InvitationRecord> {
    const email = personEmail(caller);
    const found = await this.repo.byId(id, this.clock.nowMs());
    if (!found || found.invitation.email !== email) throw errors.notFound('Invitation', id);
    if (found.invitation.status !== 'pending') throw closed(found.invitation);
    return found;
  }
}

/** Invitations are answered by people: an API key acts for its creator, but joining a workspace is not its business. */
function personEmail(caller: Principal): string {
  if (caller.kind !== 'user' || caller.email === null)
    throw new AppError('forbidden', 'Invitations are answered by people: log in instead of using an API key');
  return normalizeEmail(caller.email);
}

function closed(invitation: Invitation): AppError {
  if (invitation.status === 'expired') {
    return new AppError(
      'invitation_expired',
      `The invitation to '${invitation.workspaceName}' expired at ${invitation.expiresAt}; ask a member of the workspace to invite you again.`,
    );
  }
  return notPending(invitation);
}

function notPending(invitation: Invitation): AppError {
  return new AppError('invitation_not_pending', `The invitation has already been ${invitation.status}`, [], {
    invitationStatus: invitation.status,
  });
}
