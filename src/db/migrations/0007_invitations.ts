import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../index.js';

/**
 * Workspace invitations (src/identity/invitations.ts): a member with `members:manage` invites an email address;
 * the person with that address becomes a member only by accepting. Rows are kept after the answer (the inviter's
 * list shows it); an unanswered row past `expires_at` is expired.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? sql`timestamptz` : sql`text`;

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    // Lower-cased, as users.email: matched against the accepting user's address.
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    // pending | accepted | declined | revoked ("expired" is pending past expires_at, derived on read)
    .addColumn('status', 'text', (c) => c.notNull())
    // No foreign key: an invitation outlives its inviter's account in the inviter's history.
    .addColumn('invited_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('responded_at', ts)
    .execute();
  // One open invitation per address and workspace: inviting again renews it (and decides concurrent invitations).
  await db.schema
    .createIndex('invitations_open')
    .on('invitations')
    .columns(['workspace_id', 'email'])
    .unique()
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema.createIndex('invitations_email').on('invitations').columns(['email', 'status']).execute();
  await db.schema
    .createIndex('invitations_workspace_created')
    .on('invitations')
    .columns(['workspace_id', 'created_at', 'id'])
    .execute();
}
