import type { Command } from 'commander';
import { ApiError, WeirClient } from './client.js';
import { clientAction, printJson, printLine, type ClientContext } from './command.js';
import { credentialsFrom, SessionEndedError, sessionTokens, type TokenAnswer } from './credentials.js';
import { clean, formatDate, keyValues } from './format.js';
import { promptHidden, promptLine, readStdinLine } from './prompt.js';

/** `weir login`, `weir logout`, `weir whoami`: the session the other client commands use. */

interface User {
  id: string;
  email: string;
  displayName: string;
  instanceAdmin: boolean;
}

interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  createdBy: string;
  expiresAt: string | null;
}

interface Me {
  /** For an API key, the user who created it. */
  user: User;
  workspace: { id: string; role: string | null; permissions: string[] };
  workspaces: { id: string; name: string; role: string }[];
  via: 'jwt' | 'apiKey';
  apiKeyId: string | null;
  /** Servers before issue 14 do not send it. */
  apiKey?: ApiKey | null;
}

interface LoginOptions {
  email?: string;
  passwordStdin?: boolean;
}

async function askCredentials(opts: LoginOptions): Promise<{ email: string; password: string }> {
  if (opts.passwordStdin) {
    if (!opts.email) throw new Error('--email is required with --password-stdin');
    const password = await readStdinLine();
    if (password === '') throw new Error('no password on stdin');
    return { email: opts.email, password };
  }
  if (!process.stdin.isTTY)
    throw new Error('cannot prompt for a password: stdin is not a terminal (use --email and --password-stdin)');
  const email = opts.email ?? (await promptLine('Email: '));
  if (email === '') throw new Error('no email given');
  return { email, password: await promptHidden('Password: ') };
}

async function login({ url, credentials, envToken, json }: ClientContext, opts: LoginOptions): Promise<void> {
  const { email, password } = await askCredentials(opts);
  // A plain client: a 401 here is a wrong password, not a missing login.
  const answer = await new WeirClient(url).postJson<TokenAnswer & { user: User }>('/api/v1/auth/login', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const previous = await credentials.get(url);
  await credentials.set(url, credentialsFrom(answer));
  // The session this login replaces would otherwise stay valid on the server until it expires.
  if (previous) await endSession(url, previous.accessToken).catch(() => {});
  if (json) printJson(answer.user);
  else printLine(`Logged in to ${url} as ${clean(answer.user.email)}`);
  if (envToken)
    process.stderr.write('note: WEIR_TOKEN is set, and it is what client commands use while it stays set\n');
}

function endSession(url: string, accessToken: string): Promise<Response> {
  return new WeirClient(url).request('POST', '/api/v1/auth/logout', {
    headers: { authorization: `Bearer ${accessToken}` },
  });
}

async function logout({ url, credentials, json }: ClientContext): Promise<void> {
  if (!(await credentials.get(url))) {
    if (json) printJson({ loggedOut: false });
    else printLine(`Not logged in to ${url}`);
    return;
  }
  try {
    // Stored credentials only (never WEIR_TOKEN), refreshed first if the access token has run out.
    const client = new WeirClient(url, sessionTokens(url, credentials, null));
    const response = await client.request('POST', '/api/v1/auth/logout');
    await response.body?.cancel();
  } catch (e) {
    // Already ended on the server (expired, revoked, logged out elsewhere): nothing left to end there.
    const ended = e instanceof SessionEndedError || (e instanceof ApiError && e.problem.status === 401);
    if (!ended) throw e;
  } finally {
    await credentials.remove(url);
  }
  if (json) printJson({ loggedOut: true });
  else printLine('Logged out');
}

async function whoami({ client, json, envToken }: ClientContext): Promise<void> {
  const me = await client.getJson<Me>('/api/v1/auth/me');
  if (json) return printJson(me);
  printLine(keyValues(me.via === 'apiKey' ? describeKey(me) : describeUser(me, envToken)));
}

const permissionList = (permissions: string[]) => (permissions.length > 0 ? permissions.join(', ') : '-');

function describeUser(me: Me, envToken: string | null): [string, string][] {
  const ws = me.workspace;
  const pairs: [string, string][] = [
    ['email', clean(me.user.email)],
    ['name', clean(me.user.displayName)],
    ['user', me.user.id],
    ['workspace', `${ws.id} (${ws.role ?? 'not a member'})`],
    ['permissions', permissionList(ws.permissions)],
    ['via', envToken ? 'access token (WEIR_TOKEN)' : 'login session (stored credentials)'],
  ];
  if (me.user.instanceAdmin) pairs.push(['instance', 'administrator']);
  const others = me.workspaces.filter((w) => w.id !== ws.id);
  if (others.length > 0) pairs.push(['also in', others.map((w) => `${w.id} (${w.role})`).join(', ')]);
  return pairs;
}

/**
 * An API key is not its creator: it holds its scopes (within the creator's current role) in its own workspace
 * only, and none of the creator's instance-wide rights, so that is what is shown.
 */
function describeKey(me: Me): [string, string][] {
  const key = me.apiKey;
  const ws = me.workspace;
  const id = key?.id ?? me.apiKeyId ?? '?';
  const pairs: [string, string][] = [
    ['key', key ? `${key.id} "${clean(key.name)}"` : id],
    ['workspace', `${ws.id} (${ws.role ?? 'not a member'})`],
    ['permissions', permissionList(ws.permissions)],
  ];
  const held = new Set(ws.permissions);
  const idle = key?.scopes.filter((s) => !held.has(s)) ?? [];
  if (idle.length > 0)
    pairs.push(['', `its scopes ${idle.join(', ')} are beyond its creator's current role, so it cannot use them`]);
  pairs.push(['created by', `${clean(me.user.email)} (${me.user.id})`]);
  if (key) pairs.push(['expires', key.expiresAt ? formatDate(key.expiresAt) : 'never']);
  pairs.push(['via', `API key ${id} (WEIR_TOKEN)`]);
  return pairs;
}

export function registerAuthCommands(program: Command): void {
  clientAction<LoginOptions>(
    program
      .command('login')
      .description(
        'log in to a Weir server; the session is kept in the credentials file (see WEIR_CONFIG_DIR) and refreshed as it runs',
      )
      .option('--email <email>', 'account email (asked for on a terminal when missing)')
      .option('--password-stdin', 'read the password from the first line of stdin instead of asking'),
    (ctx, _args, opts) => login(ctx, opts),
  );
  clientAction(
    program.command('logout').description('end the session on the server and forget the stored credentials for it'),
    (ctx) => logout(ctx),
  );
  clientAction(
    program.command('whoami').description('who the server takes you for: user, workspace, role and permissions'),
    (ctx) => whoami(ctx),
  );
}
