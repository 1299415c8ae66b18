import type { Command } from 'commander';
import { weirCommand } from '../weir-command.js';
import { arg, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatDate, table, truncate } from './format.js';

/**
 * `weir invitations`: invite people to the workspace (send, sent, revoke) and answer your own invitations (ls,
 * accept, decline). Nobody joins a workspace without accepting; no email is sent, so the inviter passes the id on.
 */

interface Invitation {
  id: string;
  workspaceId: string;
  workspaceName: string;
  email: string;
  role: string;
  status: string;
  invitedByEmail: string | null;
  createdAt: string;
  expiresAt: string;
  respondedAt: string | null;
}

interface WorkspaceWithRole {
  id: string;
  name: string;
  role: string;
}

const mine = (id: string, action: 'accept' | 'decline') => `/api/v1/invitations/${encodeURIComponent(id)}/${action}`;

/** The workspace the client acts in (--workspace / WEIR_WORKSPACE, else the caller's default), as the server resolves it. */
async function currentWorkspace({ client }: ClientContext): Promise<string> {
  return (await client.getJson<{ workspace: { id: string } }>('/api/v1/auth/me')).workspace.id;
}

async function send(ctx: ClientContext, opts: { email: string; role: string }): Promise<void> {
  const workspaceId = await currentWorkspace(ctx);
  const invitation = await ctx.client.postJson<Invitation>(
    `/api/v1/workspaces/${encodeURIComponent(workspaceId)}/invitations`,
    {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: opts.email, role: opts.role }),
    },
  );
  if (ctx.json) return printJson(invitation);
  printLine(
    `Invited ${clean(invitation.email)} to ${clean(invitation.workspaceName)} (${invitation.workspaceId}) as ${invitation.role}: ${invitation.id}, until ${formatDate(invitation.expiresAt)}`,
  );
  printLine(
    `No email is sent: pass the id on. Logged in with that address, they run \`${weirCommand(`invitations accept ${invitation.id}`)}\`.`,
  );
}

async function sent(ctx: ClientContext, opts: { limit: number }): Promise<void> {
  const workspaceId = await currentWorkspace(ctx);
  const page = await ctx.client.getJson<{ items: Invitation[]; total: number }>(
    `/api/v1/workspaces/${encodeURIComponent(workspaceId)}/invitations`,
    { limit: opts.limit },
  );
  if (ctx.json) return printJson(page);
  if (page.items.length === 0) return printLine(`no invitations in ${workspaceId}`);
  const rows = page.items.map((i) => [
    i.id,
    truncate(clean(i.email), 40),
    i.role,
    i.status,
    formatDate(i.createdAt),
    formatDate(i.expiresAt),
  ]);
  printLine(table(['ID', 'EMAIL', 'ROLE', 'STATUS', 'SENT', 'EXPIRES'], rows));
}

async function revoke(ctx: ClientContext, id: string): Promise<void> {
  const { client, json } = ctx;
  const workspaceId = await currentWorkspace(ctx);
  const invitation = await client.deleteJson<Invitation>(
    `/api/v1/workspaces/${encodeURIComponent(workspaceId)}/invitations/${encodeURIComponent(id)}`,
  );
  if (json) printJson(invitation);
  else printLine(`Revoked ${invitation.id}: ${clean(invitation.email)} can no longer accept it`);
}

async function list({ client, json }: ClientContext): Promise<void> {
  const { items } = await client.getJson<{ items: Invitation[] }>('/api/v1/invitations');
  if (json) return printJson({ items });
  if (items.length === 0) return printLine('no invitations to answer');
  const rows = items.map((i) => [
    i.id,
    `${truncate(clean(i.workspaceName), 30)} (${i.workspaceId})`,
    i.role,
    clean(i.invitedByEmail ?? '-'),
    formatDate(i.expiresAt),
  ]);
  printLine(table(['ID', 'WORKSPACE', 'ROLE', 'FROM', 'EXPIRES'], rows));
}

async function accept({ client, json }: ClientContext, id: string): Promise<void> {
  const answer = await client.postJson<{ invitation: Invitation; workspace: WorkspaceWithRole }>(mine(id, 'accept'), {
    body: undefined,
  });
  if (json) printJson(answer);
  else printLine(`Joined ${clean(answer.workspace.name)} (${answer.workspace.id}) as ${answer.workspace.role}`);
}

async function decline({ client, json }: ClientContext, id: string): Promise<void> {
  const invitation = await client.postJson<Invitation>(mine(id, 'decline'), { body: undefined });
  if (json) printJson(invitation);
  else printLine(`Declined the invitation to ${clean(invitation.workspaceName)} (${invitation.workspaceId})`);
}

export function registerInvitations(program: Command): void {
  const invitations = program
    .command('invitations')
    .description('invite people to the workspace; accept or decline your own invitations');
  clientAction<{ email: string; role: string }>(
    invitations
      .command('send')
      .description('invite someone by email address; they become a member only by accepting')
      .requiredOption('--email <email>', 'their email address (the one they log in with)')
      .requiredOption('--role <role>', 'role once they accept: owner, admin, maintainer, analyst, uploader or viewer'),
    (ctx, _args, opts) => send(ctx, opts),
  );
  clientAction<{ limit: number }>(
    invitations
      .command('sent')
      .description("the workspace's invitations, newest first, with their status")
      .option('--limit <n>', 'at most this many', integer(1), 50),
    (ctx, _args, opts) => sent(ctx, opts),
  );
  clientAction(
    invitations
      .command('revoke')
      .description('withdraw an invitation that has not been answered')
      .argument('<id>', 'invitation id (inv_…)'),
    (ctx, args) => revoke(ctx, arg(args, 0)),
  );
  clientAction(
    invitations.command('ls').alias('list').description('your invitations that you can still accept'),
    (ctx) => list(ctx),
  );
  clientAction(
    invitations
      .command('accept')
      .description('accept an invitation: join its workspace')
      .argument('<id>', 'invitation id (inv_…)'),
    (ctx, args) => accept(ctx, arg(args, 0)),
  );
  clientAction(
    invitations.command('decline').description('decline an invitation').argument('<id>', 'invitation id (inv_…)'),
    (ctx, args) => decline(ctx, arg(args, 0)),
  );
}
