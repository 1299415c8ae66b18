import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../src/cli/api-types.js';
import { ADMIN } from './helpers/app.js';
import {
  freePort,
  freshStore,
  runCli,
  startTestServer,
  type CliResult,
  type TestServer,
} from './helpers/cli-server.js';
import { eventually } from './helpers/identity.js';

/** Credentials as `weir login` stores them (src/cli/credentials.ts). */
interface Stored {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: string;
  refreshExpiresAt: string;
  email: string;
}

interface Me {
  user: { id: string; email: string; instanceAdmin: boolean };
  workspace: { id: string; role: string | null; permissions: string[] };
  via: 'jwt' | 'apiKey';
  apiKeyId: string | null;
}

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  expiresAt: string | null;
  revokedAt: string | null;
}

const NOT_LOGGED_IN = 'weir: not logged in: run `npx weir login` or set WEIR_TOKEN\n';
const SESSION_ENDED = 'weir: your session has ended; run `npx weir login`\n';

let server: TestServer;
let scratch: string;
let dirCount = 0;

/** A fresh, empty WEIR_CONFIG_DIR (it does not exist yet: the CLI creates it). */
const configDir = () => path.join(scratch, `config-${++dirCount}`);
const credentialsFile = (dir: string) => path.join(dir, 'credentials.json');
const readStored = async (dir: string) =>
  JSON.parse(await readFile(credentialsFile(dir), 'utf8')) as Record<string, Stored>;
const api = (p: string, init: RequestInit = {}, token = server.token) =>
  fetch(`${server.url}/api/v1${p}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
const parse = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

/** `weir <args>` against the test server with this config dir and no WEIR_TOKEN. */
const weir = (dir: string, ...args: string[]) => runCli(args, { url: server.url, configDir: dir });

async function loggedIn(dir = configDir()): Promise<string> {
  const r = await runCli(['login', '--email', ADMIN.email, '--password-stdin'], {
    url: server.url,
    configDir: dir,
    input: `${ADMIN.password}\n`,
  });
  if (r.code !== 0) throw new Error(`login failed: ${r.stderr}`);
  return dir;
}

async function editStored(dir: string, patch: Partial<Stored>): Promise<void> {
  const all = await readStored(dir);
  all[server.url] = { ...all[server.url]!, ...patch };
  await writeFile(credentialsFile(dir), JSON.stringify(all));
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'weir-cli-auth-'));
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('weir login, whoami, logout', () => {
  it('logs in with --password-stdin, stores the session 0600 in a 0700 directory, and whoami then needs no WEIR_TOKEN', async () => {
    const dir = configDir();
    const r = await runCli(['login', '--email', ADMIN.email, '--password-stdin'], {
      url: server.url,
      configDir: dir,
      input: `${ADMIN.password}\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Logged in to ${server.url} as ${ADMIN.email}\n`);
    expect((await stat(credentialsFile(dir))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const stored = (await readStored(dir))[server.url]!;
    expect(stored.email).toBe(ADMIN.email);
    expect(Date.parse(stored.accessExpiresAt)).toBeGreaterThan(Date.now() + 60_000);
    expect(Date.parse(stored.refreshExpiresAt)).toBeGreaterThan(Date.parse(stored.accessExpiresAt));

    const who = await weir(dir, 'whoami');
    expect(who.stderr).toBe('');
    expect(who.code).toBe(0);
    expect(who.stdout).toMatch(new RegExp(`^email\\s+${ADMIN.email}$`, 'm'));
    expect(who.stdout).toMatch(/^workspace\s+ws_default \(owner\)$/m);
    expect(who.stdout).toMatch(/^permissions\s+.*datasets:read.*keys:manage/m);
    expect(who.stdout).toMatch(/^via\s+login session \(stored credentials\)$/m);
    expect(who.stdout).toMatch(/^instance\s+administrator$/m);

    const json = parse<Me>(await weir(dir, 'whoami', '--json'));
    expect(json).toMatchObject({
      user: { email: ADMIN.email, instanceAdmin: true },
      workspace: { id: 'ws_default', role: 'owner' },
      via: 'jwt',
      apiKeyId: null,
    });
  });

  it('login --json prints the user', async () => {
    const r = await runCli(['login', '--email', ADMIN.email, '--password-stdin', '--json'], {
      url: server.url,
      configDir: configDir(),
      input: ADMIN.password,
    });
    expect(r.code).toBe(0);
    expect(parse<{ email: string; instanceAdmin: boolean }>(r)).toMatchObject({
      email: ADMIN.email,
      instanceAdmin: true,
    });
  });

  it('a wrong password fails with the server message and stores nothing', async () => {
    const dir = configDir();
    const r = await runCli(['login', '--email', ADMIN.email, '--password-stdin'], {
      url: server.url,
      configDir: dir,
      input: 'not the password\n',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('weir: Invalid email or password\n');
    expect(r.stdout).toBe('');
    await expect(stat(credentialsFile(dir))).rejects.toThrow(/ENOENT/);
  });

  it('refuses to prompt when stdin is not a terminal, and needs --email with --password-stdin', async () => {
    const noTty = await runCli(['login', '--email', ADMIN.email], { url: server.url });
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toBe(
      'weir: cannot prompt for a password: stdin is not a terminal (use --email and --password-stdin)\n',
    );
    const noEmail = await runCli(['login', '--password-stdin'], { url: server.url, input: 'x\n' });
    expect(noEmail.code).toBe(1);
    expect(noEmail.stderr).toBe('weir: --email is required with --password-stdin\n');
  });

  it('logout ends the session on the server and forgets it; whoami then says to log in', async () => {
    const dir = await loggedIn();
    const { accessToken } = (await readStored(dir))[server.url]!;
    const r = await weir(dir, 'logout');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Logged out\n');
    expect((await readStored(dir))[server.url]).toBeUndefined();
    expect((await api('/auth/me', {}, accessToken)).status).toBe(401);

    const who = await weir(dir, 'whoami');
    expect(who.code).toBe(1);
    expect(who.stderr).toBe(NOT_LOGGED_IN);
    const again = await weir(dir, 'logout');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`Not logged in to ${server.url}\n`);
  });

  it('logout still forgets a session the server has already ended', async () => {
    const dir = await loggedIn();
    const { accessToken } = (await readStored(dir))[server.url]!;
    expect((await api('/auth/logout', { method: 'POST' }, accessToken)).status).toBe(204);
    const r = await weir(dir, 'logout');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readStored(dir))[server.url]).toBeUndefined();
  });

  it('refreshes an access token about to expire before the request, and stores the new tokens', async () => {
    const dir = await loggedIn();
    const before = (await readStored(dir))[server.url]!;
    await editStored(dir, { accessExpiresAt: new Date(Date.now() - 1000).toISOString() });
    const r = await weir(dir, 'whoami', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parse<Me>(r).user.email).toBe(ADMIN.email);
    const after = (await readStored(dir))[server.url]!;
    // (The access token itself may come out identical: same claims within the same second.)
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(Date.parse(after.accessExpiresAt)).toBeGreaterThan(Date.now() + 60_000);
    expect((await stat(credentialsFile(dir))).mode & 0o777).toBe(0o600);
    // The old refresh token was rotated away.
    const reuse = await fetch(`${server.url}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: before.refreshToken }),
    });
    expect(reuse.status).toBe(401);
  });

  it('concurrent commands share one refresh instead of tripping refresh-token reuse detection', async () => {
    const dir = await loggedIn();
    await editStored(dir, { accessExpiresAt: new Date(Date.now() - 1000).toISOString() });
    const results = await Promise.all([1, 2, 3, 4].map(() => weir(dir, 'whoami', '--json')));
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    // Reuse detection would have revoked the session: it is still alive.
    const later = await weir(dir, 'whoami', '--json');
    expect(later.code).toBe(0);
  });

  it('retries once with a refreshed token when the server refuses the stored access token', async () => {
    const dir = await loggedIn();
    const before = (await readStored(dir))[server.url]!;
    // Looks fresh locally, but the server does not accept it (as after a change of WEIR_JWT_SECRET).
    await editStored(dir, {
      accessToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    const r = await weir(dir, 'whoami', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = (await readStored(dir))[server.url]!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect((await api('/auth/me', {}, after.accessToken)).status).toBe(200);
  });

  it('says the session has ended, and forgets it, when the server revoked it', async () => {
    const dir = await loggedIn();
    const { accessToken } = (await readStored(dir))[server.url]!;
    expect((await api('/auth/logout', { method: 'POST' }, accessToken)).status).toBe(204);
    const r = await weir(dir, 'datasets', 'ls');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(SESSION_ENDED);
    expect((await readStored(dir))[server.url]).toBeUndefined();
  });

  it('tightens a credentials file that others could read', async () => {
    const dir = await loggedIn();
    await chmod(credentialsFile(dir), 0o644);
    expect((await weir(dir, 'whoami')).code).toBe(0);
    expect((await stat(credentialsFile(dir))).mode & 0o777).toBe(0o600);
  });

  it('keeps sessions of different servers apart', async () => {
    const dir = await loggedIn();
    const other = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(['whoami'], { url: other, configDir: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach Weir at ${other}`);
    expect(Object.keys(await readStored(dir))).toEqual([server.url]);
  });
});

describe('without credentials', () => {
  it('a client command prints how to log in, not a bare 401', async () => {
    const r = await runCli(['datasets', 'ls'], { url: server.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(NOT_LOGGED_IN);
    expect(r.stdout).toBe('');
  });

  it('with --json the problem document is still printed on stdout', async () => {
    const r = await runCli(['datasets', 'ls', '--json'], { url: server.url });
    expect(r.code).toBe(1);
    expect(parse<Problem>(r)).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(r.stderr).toBe(NOT_LOGGED_IN);
  });

  it('an invalid WEIR_TOKEN is named as the cause', async () => {
    const r = await runCli(['whoami'], { url: server.url, token: 'weir_key_nope' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('weir: WEIR_TOKEN was refused: The API key is not valid\n');
  });
});

describe('WEIR_TOKEN, API keys and workspaces', () => {
  it('keys create / ls / revoke: the token works until it is revoked', async () => {
    const dir = await loggedIn();
    const created = await weir(
      dir,
      'keys',
      'create',
      '--name',
      'nightly export',
      '--scope',
      'datasets:read',
      '--scope',
      'jobs:read',
      '--expires',
      '30d',
      '--json',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const { key, token } = parse<{ key: ApiKey; token: string }>(created);
    expect(token).toMatch(/^weir_key_\w+_[\w-]{43}$/);
    expect(key.scopes).toEqual(['datasets:read', 'jobs:read']);
    expect(Math.abs(Date.parse(key.expiresAt!) - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);

    // WEIR_TOKEN alone: no stored credentials in this run's config dir.
    const who = await runCli(['whoami'], { url: server.url, token });
    expect(who.code).toBe(0);
    expect(who.stdout).toMatch(new RegExp(`^via\\s+API key ${key.id} \\(WEIR_TOKEN\\)$`, 'm'));
    expect(who.stdout).toMatch(/^workspace\s+ws_default \(machine\)$/m);
    expect(who.stdout).toMatch(/^permissions\s+datasets:read, jobs:read$/m);
    expect((await runCli(['datasets', 'ls', '--json'], { url: server.url, token })).code).toBe(0);
    // The key's scopes, not the owner's session, decide: it cannot manage keys.
    const denied = await runCli(['keys', 'ls'], { url: server.url, token, configDir: dir });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('keys:manage');

    const human = await weir(dir, 'keys', 'ls');
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+SCOPES\s+CREATED\s+EXPIRES\s+REVOKED\s+LAST USED$/);
    const row = lines.find((l) => l.startsWith(key.id));
    expect(row).toMatch(new RegExp(`^${key.id}\\s+nightly export\\s+${key.prefix}\\s+datasets:read,jobs:read\\s+`));
    const listed = parse<{ items: ApiKey[] }>(await weir(dir, 'keys', 'ls', '--json')).items.find(
      (k) => k.id === key.id,
    );
    expect(listed).toMatchObject({ name: 'nightly export', revokedAt: null });

    const revoked = await weir(dir, 'keys', 'revoke', key.id);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`Revoked ${key.id} "nightly export": requests with it are refused from now on\n`);
    const after = await runCli(['datasets', 'ls'], { url: server.url, token });
    expect(after.code).toBe(1);
    expect(after.stderr).toBe('weir: WEIR_TOKEN was refused: The API key has been revoked\n');
    const revokedRow = parse<{ items: ApiKey[] }>(await weir(dir, 'keys', 'ls', '--json')).items.find(
      (k) => k.id === key.id,
    );
    expect(revokedRow?.revokedAt).not.toBeNull();
  });

  it('keys create prints the token once with a warning', async () => {
    const dir = await loggedIn();
    const r = await weir(dir, 'keys', 'create', '--name', 'ci');
    expect(r.code).toBe(0);
    const token = /^(weir_key_\S+)$/m.exec(r.stdout)?.[1];
    expect(token).toBeDefined();
    expect(r.stdout).toContain('cannot be shown again');
    expect(r.stdout).toMatch(/^ {2}expires {2}never$/m);
    expect((await runCli(['whoami', '--json'], { url: server.url, token })).code).toBe(0);
  });

  it('keys create refuses bad input: unknown scopes (server), bad expiry (client)', async () => {
    const dir = await loggedIn();
    const scope = await weir(dir, 'keys', 'create', '--name', 'x', '--scope', 'members:manage');
    expect(scope.code).toBe(1);
    expect(scope.stderr).toMatch(
      /^weir: Some scopes cannot be granted to an API key by you\n {2}\/body\/scopes\/0: 'members:manage' is not grantable/,
    );
    const expiry = await weir(dir, 'keys', 'create', '--name', 'x', '--expires', 'tomorrow');
    expect(expiry.code).toBe(1);
    expect(expiry.stderr).toContain("option '--expires <when>' argument 'tomorrow' is invalid");
    const past = await weir(dir, 'keys', 'create', '--name', 'x', '--expires', '2001-01-01');
    expect(past.code).toBe(1);
    expect(past.stderr).toContain('must be in the future');
  });

  it('keys create with a scope that does not exist: says so and suggests the nearest, creating nothing', async () => {
    const dir = await loggedIn();
    const r = await weir(dir, 'keys', 'create', '--name', 'typo', '--scope', 'datasets:raed');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "weir: Scope 'datasets:raed' does not exist; did you mean 'datasets:read' or 'datasets:write'?\n  at /body/scopes/0\n",
    );
    expect(
      parse<{ items: ApiKey[] }>(await weir(dir, 'keys', 'ls', '--json')).items.filter((k) => k.name === 'typo'),
    ).toEqual([]);
  });

  it("whoami with an API key shows the key (name, scopes, creator), not its creator's instance-wide rights", async () => {
    const dir = await loggedIn();
    const created = parse<{ key: ApiKey; token: string }>(
      await weir(dir, 'keys', 'create', '--name', 'read only', '--scope', 'datasets:read', '--json'),
    );
    const r = await runCli(['whoami'], { url: server.url, token: created.token });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^key\\s+${created.key.id} "read only"$`, 'm'));
    expect(r.stdout).toMatch(/^workspace\s+ws_default \(machine\)$/m);
    expect(r.stdout).toMatch(/^permissions\s+datasets:read$/m);
    expect(r.stdout).toMatch(new RegExp(`^created by\\s+${ADMIN.email} \\(usr_\\w+\\)$`, 'm'));
    expect(r.stdout).toMatch(/^expires\s+never$/m);
    // The creator is an instance administrator: the key is not, and whoami must not say it is.
    expect(r.stdout).not.toMatch(/administrator/);
    expect(r.stdout).not.toMatch(/keys:manage|system:admin/);
    expect(r.stdout).not.toContain(created.token);
    const json = parse<Me & { apiKey: { id: string; scopes: string[] } }>(
      await runCli(['whoami', '--json'], { url: server.url, token: created.token }),
    );
    expect(json).toMatchObject({
      via: 'apiKey',
      apiKeyId: created.key.id,
      apiKey: { id: created.key.id, scopes: ['datasets:read'] },
    });
  });

  it('WEIR_TOKEN wins over stored credentials', async () => {
    const dir = await loggedIn();
    const created = parse<{ key: ApiKey; token: string }>(
      await weir(dir, 'keys', 'create', '--name', 'wins', '--json'),
    );
    const r = await runCli(['whoami', '--json'], { url: server.url, configDir: dir, token: created.token });
    expect(parse<Me>(r)).toMatchObject({ via: 'apiKey', apiKeyId: created.key.id });
  });

  it('--workspace and WEIR_WORKSPACE choose the workspace (x-weir-workspace)', async () => {
    const dir = await loggedIn();
    const res = await api('/workspaces', { method: 'POST', body: JSON.stringify({ name: 'Team CLI' }) });
    expect(res.status).toBe(201);
    const ws = ((await res.json()) as { id: string }).id;
    expect(parse<Me>(await weir(dir, 'whoami', '--json')).workspace.id).toBe('ws_default');
    expect(parse<Me>(await weir(dir, 'whoami', '--json', '--workspace', ws)).workspace).toMatchObject({
      id: ws,
      role: 'owner',
    });
    const fromEnv = await runCli(['whoami', '--json'], {
      url: server.url,
      configDir: dir,
      env: { WEIR_WORKSPACE: ws },
    });
    expect(parse<Me>(fromEnv).workspace.id).toBe(ws);
    const unknown = await weir(dir, 'datasets', 'ls', '--workspace', 'ws_nosuchthing');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("weir: Workspace 'ws_nosuchthing' does not exist\n");
    const malformed = await weir(dir, 'whoami', '--workspace', 'default');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('expected a workspace id such as ws_default');
  });
});

describe('weir admin create-user', () => {
  it('makes the first user an instance admin and owner of ws_default who can log in; refuses a duplicate email', async () => {
    const store = await freshStore();
    const first = { email: 'First@Weir.test', password: 'first user password' };
    const admin = (args: string[], input?: string) =>
      runCli(['admin', 'create-user', ...args], { url: null, input, env: { ...store.env, WEIR_LOG_LEVEL: 'warn' } });
    try {
      const created = await admin(['--email', first.email, '--password-stdin'], `${first.password}\n`);
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/^usr_\w+\n$/);
      expect(created.stderr).toBe('created first@weir.test: owner of ws_default, instance administrator\n');
      const userId = created.stdout.trim();

      const duplicate = await admin(['--email', 'first@weir.test', '--password', 'another password'], '');
      expect(duplicate.code).toBe(1);
      expect(duplicate.stderr).toBe("weir: A user with the email 'first@weir.test' already exists\n");
      const short = await admin(['--email', 'short@weir.test', '--password-stdin'], 'short\n');
      expect(short.code).toBe(1);
      expect(short.stderr).toBe('weir: password must be at least 10 characters\n');
      const analyst = await admin([
        '--email',
        'ana@weir.test',
        '--password',
        'analyst password',
        '--role',
        'analyst',
        '--json',
      ]);
      expect(analyst.code).toBe(0);
      expect(JSON.parse(analyst.stdout)).toMatchObject({ email: 'ana@weir.test', instanceAdmin: false });

      // No bootstrap variables take effect (users exist): the created admin is the way in.
      const served = await startTestServer({ store, loginAs: first });
      try {
        const dir = configDir();
        const login = await runCli(['login', '--email', first.email, '--password-stdin'], {
          url: served.url,
          configDir: dir,
          input: first.password,
        });
        expect(login.stdout).toBe(`Logged in to ${served.url} as first@weir.test\n`);
        const me = parse<Me>(await runCli(['whoami', '--json'], { url: served.url, configDir: dir }));
        expect(me).toMatchObject({
          user: { id: userId, instanceAdmin: true },
          workspace: { id: 'ws_default', role: 'owner' },
        });
        const ana = await fetch(`${served.url}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'ana@weir.test', password: 'analyst password' }),
        });
        expect(ana.status).toBe(200);
        // Nobody logged in as ADMIN: the bootstrap variables did nothing on a database with users.
        const bootstrap = await fetch(`${served.url}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(ADMIN),
        });
        expect(bootstrap.status).toBe(401);
        const audit = await fetch(`${served.url}/api/v1/audit?action=user.create`, {
          headers: { authorization: `Bearer ${served.token}` },
        });
        const rows = (
          (await audit.json()) as { items: { actorType: string; targetId: string; detail: Record<string, unknown> }[] }
        ).items;
        expect(rows.find((a) => a.targetId === userId)).toMatchObject({
          actorType: 'system',
          detail: { via: 'cli', role: 'owner', instanceAdmin: true, firstUser: true },
        });
      } finally {
        await served.stop();
      }
    } finally {
      await store.remove();
    }
  });

  it('refuses a missing password off a terminal and an unknown role', async () => {
    const store = await freshStore();
    try {
      const env = { ...store.env, WEIR_LOG_LEVEL: 'warn' };
      const noPassword = await runCli(['admin', 'create-user', '--email', 'a@weir.test'], { url: null, env });
      expect(noPassword.code).toBe(1);
      expect(noPassword.stderr).toBe('weir: no password: give --password-stdin (or --password)\n');
      const role = await runCli(
        ['admin', 'create-user', '--email', 'a@weir.test', '--password', 'long enough pw', '--role', 'boss'],
        { url: null, env },
      );
      expect(role.code).toBe(1);
      expect(role.stderr).toBe(
        'weir: --role: expected one of owner, admin, maintainer, analyst, uploader, viewer, got "boss"\n',
      );
    } finally {
      await store.remove();
    }
  });
});

describe('weir invitations', () => {
  const invitee = { email: `invitee-${Date.now()}@weir.test`, password: 'invitee password' };
  interface Invitation {
    id: string;
    email: string;
    role: string;
    status: string;
    workspaceId: string;
  }

  it('send, sent and revoke as the inviter; ls, accept and decline as the invitee', async () => {
    const admin = await loggedIn();
    expect((await api('/users', { method: 'POST', body: JSON.stringify(invitee) })).status).toBe(201);
    const sent = await weir(admin, 'invitations', 'send', '--email', invitee.email, '--role', 'analyst', '--json');
    expect(sent.stderr).toBe('');
    const invitation = parse<Invitation>(sent);
    expect(invitation).toMatchObject({
      email: invitee.email,
      role: 'analyst',
      status: 'pending',
      workspaceId: 'ws_default',
    });
    const other = await weir(
      admin,
      'invitations',
      'send',
      '--email',
      `nobody-${Date.now()}@weir.test`,
      '--role',
      'viewer',
    );
    expect(other.code).toBe(0);
    const otherId = /: (inv_\w+), until /.exec(other.stdout)?.[1];
    expect(other.stdout).toMatch(
      /^Invited nobody-\d+@weir\.test to .+ \(ws_default\) as viewer: inv_\w+, until .+\nNo email is sent: pass the id on\. .*`npx weir invitations accept inv_\w+`\.\n$/,
    );
    expect(
      parse<{ items: Invitation[] }>(await weir(admin, 'invitations', 'sent', '--json')).items.map((i) => i.id),
    ).toEqual([otherId, invitation.id]);
    expect((await weir(admin, 'invitations', 'revoke', otherId!)).stdout).toMatch(
      /^Revoked inv_\w+: nobody-\d+@weir\.test can no longer accept it\n$/,
    );

    const dir = configDir();
    expect(
      (
        await runCli(['login', '--email', invitee.email, '--password-stdin'], {
          url: server.url,
          configDir: dir,
          input: invitee.password,
        })
      ).code,
    ).toBe(0);
    const listed = await weir(dir, 'invitations', 'ls');
    expect(listed.stdout).toMatch(/^ID\s+WORKSPACE\s+ROLE\s+FROM\s+EXPIRES$/m);
    expect(listed.stdout).toMatch(
      new RegExp(`^${invitation.id}\\s+.+ \\(ws_default\\)\\s+analyst\\s+${ADMIN.email}\\s+`, 'm'),
    );
    const accepted = await weir(dir, 'invitations', 'accept', invitation.id);
    expect(accepted.stderr).toBe('');
    expect(accepted.stdout).toMatch(/^Joined .+ \(ws_default\) as analyst\n$/);
    expect((await weir(dir, 'invitations', 'ls')).stdout).toBe('no invitations to answer\n');
    const again = await weir(dir, 'invitations', 'accept', invitation.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('weir: The invitation has already been accepted\n');

    const team = (
      (await (await api('/workspaces', { method: 'POST', body: JSON.stringify({ name: 'Invites' }) })).json()) as {
        id: string;
      }
    ).id;
    const toDecline = parse<Invitation>(
      await weir(
        admin,
        'invitations',
        'send',
        '--workspace',
        team,
        '--email',
        invitee.email,
        '--role',
        'viewer',
        '--json',
      ),
    );
    expect(toDecline.workspaceId).toBe(team);
    expect((await weir(dir, 'invitations', 'decline', toDecline.id)).stdout).toBe(
      `Declined the invitation to Invites (${team})\n`,
    );
  });
});

describe('weir admin clear-ip-rules', () => {
  it("empties a workspace's IP rules straight in the database, the way back when they shut everyone out", async () => {
    const ws = (
      (await (await api('/workspaces', { method: 'POST', body: JSON.stringify({ name: 'Shut out' }) })).json()) as {
        id: string;
      }
    ).id;
    expect(
      (
        await api(`/workspaces/${ws}`, {
          method: 'PATCH',
          body: JSON.stringify({ ipAllow: ['10.0.0.0/8'], ipDeny: ['192.0.2.0/24'] }),
        })
      ).status,
    ).toBe(200);
    const inWs = () =>
      fetch(`${server.url}/api/v1/datasets`, {
        headers: { authorization: `Bearer ${server.token}`, 'x-weir-workspace': ws },
      });
    expect((await inWs()).status).toBe(403);

    const admin = (...args: string[]) =>
      runCli(['admin', 'clear-ip-rules', ...args], { url: null, env: { ...server.store.env, WEIR_LOG_LEVEL: 'warn' } });
    const cleared = await admin(ws);
    expect(cleared.stderr).toBe('');
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toBe(`cleared the IP rules of ${ws}: allow was 10.0.0.0/8; deny was 192.0.2.0/24\n`);
    // The running server sees it once its principal cache (2 s) has let go of the old rules.
    expect(
      await eventually(
        async () => (await inWs()).status,
        (s) => s === 200,
        10_000,
      ),
    ).toBe(200);
    const rows = (
      (await (await api(`/audit?action=workspace.network_rules_clear&scope=instance`)).json()) as {
        items: { workspaceId: string; actorType: string; detail: unknown }[];
      }
    ).items;
    expect(rows.find((r) => r.workspaceId === ws)).toMatchObject({
      actorType: 'system',
      detail: { via: 'cli', ipAllow: ['10.0.0.0/8'], ipDeny: ['192.0.2.0/24'] },
    });

    const missing = await admin('ws_nosuchthing');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("weir: Workspace 'ws_nosuchthing' does not exist\n");
  });
});

describe('help', () => {
  it.each([
    [['login'], ['--email', '--password-stdin', '--url', '--json']],
    [
      ['keys', 'create'],
      ['--name', '--scope', '--expires', '--workspace'],
    ],
    [
      ['admin', 'create-user'],
      ['--email', '--password-stdin', '--password', '--role', '--workspace', '--instance-admin', '--name'],
    ],
    [
      ['admin', 'clear-ip-rules'],
      ['<workspace>', '--json'],
    ],
    [
      ['invitations', 'send'],
      ['--email', '--role', '--workspace'],
    ],
  ])('weir %j --help', async (command, mentions) => {
    const r = await runCli([...command, '--help'], { url: null });
    expect(r.code).toBe(0);
    for (const m of mentions) expect(r.stdout).toContain(m);
  });
});
