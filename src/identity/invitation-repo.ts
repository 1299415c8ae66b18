import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { InvitationsTable } from '../db/types.js';
import { toIso } from '../db/values.js';
import type { Invitation, InvitationStatus } from './model.js';
import type { Role } from './permissions.js';

type AnsweredStatus = Exclude<InvitationStatus, 'pending' | 'expired'>;

/** An invitation with what accepting it must check: the inviter's current role in the workspace. */
export interface InvitationRecord {
  invitation: Invitation;
  inviterRole: Role | null;
}

/** The invitations table (and, to describe an invitation, the names of its workspace and inviter). */
export class InvitationRepo {
  constructor(private readonly db: Db) {}

  async insert(row: {
    id: string;
    workspaceId: string;
    email: string;
    role: Role;
    invitedBy: string;
    createdAt: string;
    expiresAt: string;
  }): Promise<void> {
    await this.db
      .insertInto('invitations')
      .values({
        id: row.id,
        workspace_id: row.workspaceId,
        email: row.email,
        role: row.role,
        status: 'pending',
        invited_by: row.invitedBy,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
        responded_at: null,
      })
      .execute();
  }

  /** Renews the open invitation of this address to this workspace, if there is one; answers its id. */
  async renewOpen(
    workspaceId: string,
    email: string,
    renewal: { role: Role; invitedBy: string; expiresAt: string },
  ): Promise<string | undefined> {
    const row = await this.db
      .updateTable('invitations')
      .set({ role: renewal.role, invited_by: renewal.invitedBy, expires_at: renewal.expiresAt })
      .where('workspace_id', '=', workspaceId)
      .where('email', '=', email)
      .where('status', '=', 'pending')
      .returning('id')
      .executeTakeFirst();
    return row?.id;
  }

  /**
   * Answers a pending invitation; false when it was not pending any more (or, with `unexpiredAt`, had expired by
   * then). The one conditional write decides races between accepting, declining and revoking.
   */
  async answer(id: string, status: AnsweredStatus, now: string, unexpiredAt?: string): Promise<boolean> {
    let query = this.db
      .updateTable('invitations')
      .set({ status, responded_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending');
    if (unexpiredAt !== undefined) query = query.where('expires_at', '>', unexpiredAt);
    return Number((await query.executeTakeFirst()).numUpdatedRows) === 1;
  }

  async byId(id: string, now: number): Promise<InvitationRecord | undefined> {
    const row = await this.described()
      .leftJoin('memberships as m', (j) =>
        j.onRef('m.workspace_id', '=', 'i.workspace_id').onRef('m.user_id', '=', 'i.invited_by'),
      )
      .select('m.role as inviter_role')
      .where('i.id', '=', id)
      .executeTakeFirst();
    return row && { invitation: toInvitation(row, now), inviterRole: (row.inviter_role ?? null) as Role | null };
  }

  async ofWorkspace(
    workspaceId: string,
    limit: number,
    offset: number,
    now: number,
  ): Promise<{ items: Invitation[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.described()
        .where('i.workspace_id', '=', workspaceId)
        .orderBy('i.created_at', 'desc')
        .orderBy('i.id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute(),
      this.db
        .selectFrom('invitations')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map((r) => toInvitation(r, now)), total: Number(count.n) };
  }

  /** The invitations an address can still accept, oldest first. */
  async openFor(email: string, now: number): Promise<Invitation[]> {
    const rows = await this.described()
      .where('i.email', '=', email)
      .where('i.status', '=', 'pending')
      .where('i.expires_at', '>', new Date(now).toISOString())
      .orderBy('i.created_at')
      .orderBy('i.id')
      .limit(OPEN_INVITATIONS_LISTED)
      .execute();
    return rows.map((r) => toInvitation(r, now));
  }

  /** One query whether or not an account has the address: only a membership shows, which the inviter can list anyway. */
  async isMember(workspaceId: string, email: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(sql<number>`1`.as('one'))
      .where('m.workspace_id', '=', workspaceId)
      .where('u.email', '=', email)
      .executeTakeFirst();
    return row !== undefined;
  }

  private described() {
    return this.db
      .selectFrom('invitations as i')
      .innerJoin('workspaces as w', 'w.id', 'i.workspace_id')
      .leftJoin('users as u', 'u.id', 'i.invited_by')
      .selectAll('i')
      .select(['w.name as workspace_name', 'u.email as inviter_email']);
  }
}

/** Enough for anyone's open invitations; more would be someone inviting an address in a loop. */
const OPEN_INVITATIONS_LISTED = 200;

function toInvitation(
  row: Selectable<InvitationsTable> & { workspace_name: string; inviter_email: string | null },
  now: number,
): Invitation {
  const expiresAt = toIso(row.expires_at);
  const status =
    row.status === 'pending' && Date.parse(expiresAt) <= now ? 'expired' : (row.status as InvitationStatus);
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    workspaceName: row.workspace_name,
    email: row.email,
    role: row.role as Role,
    status,
    invitedBy: row.invited_by,
    invitedByEmail: row.inviter_email,
    createdAt: toIso(row.created_at),
    expiresAt,
    respondedAt: row.responded_at === null ? null : toIso(row.responded_at),
  };
}
