import { AppError, errors } from '../errors.js';
import type { AccessControl, Principal } from '../http/access.js';
import { refusalOf, validateCidrs, type RuleRefusal } from '../http/network-rules.js';
import { newId } from '../ids.js';
import type { Log } from '../logger.js';
import type { AuditLog } from '../system/audit.js';
import { weirCommand } from '../weir-command.js';
import { NO_CHANGE_PUBLISHER, type IdentityChangePublisher } from './changes.js';
import type { ApiKey, Member, TokenPair, User, Workspace, WorkspaceWithRole } from './model.js';
import { burnVerification, hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import {
  ROLE_PERMISSIONS,
  isPermission,
  mayGrant,
  permissionsOf,
  type Permission,
  type PrincipalRole,
  type Role,
} from './permissions.js';
import type { PrincipalCache } from './principal-cache.js';
import type { PrincipalGrant, StoredNetworkRules } from './records.js';
import type { IdentityRepo } from './repo.js';
import { scopeError } from './scopes.js';
import { randomToken, safeEqual, sha256Hex } from './secrets.js';
import { looksLikeJwt, type TokenSigner } from './tokens.js';

/** The workspace the first migration creates; the first user owns it. */
export const DEFAULT_WORKSPACE_ID = 'ws_default';

/** Failed-login bookkeeping (src/http/rate-limit.ts implements it over memory or Redis). */
export interface LoginGuard {
  check(email: string, ip: string): Promise<{ locked: boolean; retryAfterSeconds: number }>;
  recordFailure(email: string, ip: string): Promise<{ locked: boolean; retryAfterSeconds: number }>;
  recordSuccess(email: string, ip: string): Promise<void>;
}

/** The network rules of the workspace a principal was resolved in (JSON arrays of CIDRs, as stored). */
export interface ResolvedPrincipal {
  principal: Principal;
  rules: StoredNetworkRules | null;
}

/** Stored rules → does this address pass them? (src/http/guards.ts parses and caches them.) */
export type NetworkRulesCheck = (rules: StoredNetworkRules, ip: string) => boolean;

export interface IdentityOptions {
  refreshTtlSeconds: number;
  loginGuard: LoginGuard;
  audit: AuditLog;
  log: Log;
  /** Null turns caching off (several API servers: an invalidation here would not reach the others). */
  principals: PrincipalCache<PrincipalGrant> | null;
  networkRules: NetworkRulesCheck;
  /** Tells every API process's open WebSocket and SSE streams to re-authorize (src/identity/changes.ts); default: nobody. */
  changes?: IdentityChangePublisher;
}

const API_KEY_RE = /^weir_(key_[0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;
const INVALID_LOGIN = 'Invalid email or password';
// Writing last_used_at on every request would turn every read into a write; once a minute per key is enough.
const KEY_TOUCH_INTERVAL_MS = 60_000;

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

/** Users, workspaces, memberships, sessions and API keys; and authentication of tokens for every entry point. */
export class IdentityService implements AccessControl {
  private readonly keyTouchedAt = new Map<string, number>();
  private readonly changes: IdentityChangePublisher;

  constructor(
    private readonly repo: IdentityRepo,
    private readonly signer: TokenSigner,
    private readonly options: IdentityOptions,
  ) {
    this.changes = options.changes ?? NO_CHANGE_PUBLISHER;
  }

  // --- first run

  /**
   * Creates the first owner from config on an empty database; says how to create one when there is none (unless
   * `hint` is false: the supervised worker leaves that to the server it runs for, which says it once).
   */
  async bootstrap(
    admin: { email: string; password: string } | null,
    { hint = true }: { hint?: boolean } = {},
  ): Promise<void> {
    if (await this.hasUsers()) return;
    if (!admin) {
      if (hint) {
        this.options.log.warn(
          `no users exist yet: create the first owner with \`${weirCommand('admin create-user --email you@example.com')}\` ` +
            '(it asks for the password, or reads it with --password-stdin), or start once with WEIR_BOOTSTRAP_ADMIN_EMAIL and WEIR_BOOTSTRAP_ADMIN_PASSWORD',
        );
      }
      return;
    }
    const user = await this.createUser({
      email: admin.email,
      password: admin.password,
      displayName: 'Administrator',
      instanceAdmin: true,
      workspaceId: DEFAULT_WORKSPACE_ID,
      role: 'owner',
    });
    await this.options.audit.record({
      ...systemEntry('user.bootstrap'),
      workspaceId: DEFAULT_WORKSPACE_ID,
      targetType: 'user',
      targetId: user.id,
    });
    this.options.log.info({ userId: user.id, email: user.email }, 'bootstrap owner created');
  }

  // --- users

  async hasUsers(): Promise<boolean> {
    return (await this.repo.countUsers()) > 0;
  }

  async createUser(input: {
    email: string;
    password: string;
    displayName?: string;
    instanceAdmin?: boolean;
    workspaceId?: string;
    role?: Role;
  }): Promise<User> {
    const email = normalizeEmail(input.email);
    const problem = passwordProblem(input.password);
    if (problem) throw errors.validation(`password ${problem}`, [{ pointer: '/body/password', message: problem }]);
    if (await this.repo.emailTaken(email)) throw errors.conflict(`A user with the email '${email}' already exists`);
    const id = newId('usr');
    const passwordHash = await hashPassword(input.password);
    const now = new Date().toISOString();
    await this.repo.transaction(async (repo) => {
      await repo.insertUser(
        {
          id,
          email,
          displayName: input.displayName?.trim() || email.split('@')[0]!,
          passwordHash,
          instanceAdmin: input.instanceAdmin ?? false,
        },
        now,
      );
      if (input.workspaceId) await repo.upsertMembership(input.workspaceId, id, input.role ?? 'viewer', now);
    });
    return (await this.repo.userById(id))!;
  }

  async user(id: string): Promise<User> {
    const user = await this.repo.userById(id);
    if (!user) throw errors.unauthorized();
    return user;
  }

  listUsers(limit: number, offset: number): Promise<{ items: User[]; total: number }> {
    return this.repo.listUsers(limit, offset);
  }

  // --- login, refresh, logout

  async login(emailInput: string, password: string, client: ClientInfo): Promise<{ user: User; tokens: TokenPair }> {
    const email = normalizeEmail(emailInput);
    const lock = await this.options.loginGuard.check(email, client.ip);
    if (lock.locked) throw errors.rateLimited(lock.retryAfterSeconds, 'Too many failed logins; try again later');
    const found = await this.repo.userByEmail(email);
    let ok: boolean;
    if (found) ok = await verifyPassword(found.passwordHash, password);
    else {
      await burnVerification(password);
      ok = false;
    }
    if (!ok || !found || found.disabled) {
      const after = await this.options.loginGuard.recordFailure(email, client.ip);
      if (after.locked) throw errors.rateLimited(after.retryAfterSeconds, 'Too many failed logins; try again later');
      throw errors.unauthorized(INVALID_LOGIN);
    }
    // Guesses sent in parallel all pass the check above before any of them has failed; one that turns out right
    // must not succeed once its siblings' failures have locked the account.
    const after = await this.options.loginGuard.check(email, client.ip);
    if (after.locked) throw errors.rateLimited(after.retryAfterSeconds, 'Too many failed logins; try again later');
    await this.options.loginGuard.recordSuccess(email, client.ip);
    const now = new Date();
    const sessionId = newId('ses');
    const sessionEnds = new Date(now.getTime() + this.options.refreshTtlSeconds * 1000).toISOString();
    await this.repo.insertSession(
      { id: sessionId, userId: found.id, expiresAt: sessionEnds, ip: client.ip, userAgent: client.userAgent },
      now.toISOString(),
    );
    await this.repo.touchLogin(found.id, now.toISOString());
    const { passwordHash: _, ...user } = found;
    return { user, tokens: await this.issue(found.id, sessionId, sessionEnds) };
  }

  /** Rotates a refresh token. Presenting one that was already rotated means it leaked: the whole session ends. */
  async refresh(
    refreshToken: string,
  ): Promise<
    | { userId: string; sessionId: string; tokens: TokenPair }
    | { reuseDetected: true; userId: string; sessionId: string }
  > {
    const row = await this.repo.refreshTokenByHash(sha256Hex(refreshToken));
    if (!row) throw errors.unauthorized('The refresh token is not valid');
    const now = new Date();
    if (row.usedAt !== null || !(await this.repo.useRefreshToken(row.id, now.toISOString()))) {
      await this.repo.revokeSession(row.sessionId, 'refresh token reuse', now.toISOString());
      await this.changes.publish({ kind: 'session.revoked', sessionId: row.sessionId });
      return { reuseDetected: true, userId: row.userId, sessionId: row.sessionId };
    }
    if (row.sessionRevokedAt !== null || row.userDisabled || Date.parse(row.expiresAt) <= now.getTime())
      throw errors.unauthorized('The refresh token is not valid');
    return {
      userId: row.userId,
      sessionId: row.sessionId,
      tokens: await this.issue(row.userId, row.sessionId, row.expiresAt),
    };
  }

  async logout(sessionId: string): Promise<void> {
    await this.repo.revokeSession(sessionId, 'logout', new Date().toISOString());
    await this.changes.publish({ kind: 'session.revoked', sessionId });
  }

  private async issue(userId: string, sessionId: string, sessionEnds: string): Promise<TokenPair> {
    const ws = (await this.repo.defaultWorkspaceOf(userId)) ?? '';
    const refreshToken = randomToken();
    await this.repo.insertRefreshToken(
      { id: newId('ses'), sessionId, tokenHash: sha256Hex(refreshToken), expiresAt: sessionEnds },
      new Date().toISOString(),
    );
    return {
      accessToken: await this.signer.sign({ sub: userId, sid: sessionId, ws }),
      tokenType: 'Bearer',
      expiresIn: this.signer.ttlSeconds,
      refreshToken,
      refreshExpiresAt: sessionEnds,
    };
  }

  // --- authentication of every request

  /** For the WebSocket hub and SSE: the principal, carrying `ip` so that topic checks apply workspace network rules. */
  async authenticate(token: string, ip: string, workspaceId?: string): Promise<Principal> {
    return (await this.resolve(token, workspaceId, ip)).principal;
  }

  /** Token → principal in the requested workspace (or the default one), with that workspace's network rules. Throws 401. */
  async resolve(token: string, requestedWorkspace?: string, ip?: string): Promise<ResolvedPrincipal> {
    if (token.startsWith('weir_')) return this.resolveApiKey(token, requestedWorkspace, ip);
    if (!looksLikeJwt(token)) throw errors.unauthorized('The access token is not valid');
    const verified = await this.signer.verify(token);
    if (!('claims' in verified))
      throw errors.unauthorized(
        verified.reason === 'expired' ? 'The access token has expired' : 'The access token is not valid',
      );
    const { sub, sid, ws } = verified.claims;
    const workspaceId = requestedWorkspace ?? ws;
    const grant = await this.cached(`s\n${sid}\n${sub}\n${workspaceId}`, () =>
      this.repo.sessionPrincipal(sub, sid, workspaceId),
    );
    // A revoked session (logout, refresh reuse) ends its access tokens at once, not when they expire.
    if (!grant || grant.sessionRevokedAt !== null || grant.disabled)
      throw errors.unauthorized('The access token is no longer valid');
    // Access tokens outlive nothing: past the session's end (the refresh token's lifetime) they stop too.
    if (Date.parse(grant.sessionExpiresAt) <= Date.now())
      throw errors.unauthorized('The session has ended; log in again');
    return {
      principal: {
        kind: 'user',
        userId: sub,
        email: grant.email,
        apiKeyId: null,
        sessionId: sid,
        workspaceId,
        role: grant.role,
        permissions: permissionsWith(grant.role, grant.instanceAdmin),
        instanceAdmin: grant.instanceAdmin,
        ip,
      },
      rules: grant.rules,
    };
  }

  private async resolveApiKey(token: string, requestedWorkspace?: string, ip?: string): Promise<ResolvedPrincipal> {
    const m = API_KEY_RE.exec(token);
    if (!m) throw errors.unauthorized('The API key is not valid');
    const key = await this.cached(`k\n${m[1]!}`, () => this.repo.apiKeyPrincipal(m[1]!));
    // The secret is compared on every use, cached or not: the cache is keyed by the key's id, which is public.
    if (!key || !safeEqual(key.secretHash, sha256Hex(m[2]!))) throw errors.unauthorized('The API key is not valid');
    const now = Date.now();
    if (key.revokedAt !== null) throw errors.unauthorized('The API key has been revoked');
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now)
      throw errors.unauthorized('The API key has expired');
    // A key acts for its creator: it stops working when the creator leaves the workspace or is disabled, and it
    // never holds more than the creator's current role grants.
    if (key.creatorDisabled || key.creatorRole === null) throw errors.unauthorized('The API key is no longer valid');
    this.touchKey(key.id, now);
    const scopes = keyPermissions(key.scopes, key.creatorRole);
    const foreign = requestedWorkspace !== undefined && requestedWorkspace !== key.workspaceId;
    return {
      principal: {
        kind: 'apiKey',
        userId: key.createdBy,
        email: key.creatorEmail,
        apiKeyId: key.id,
        sessionId: null,
        workspaceId: foreign ? requestedWorkspace : key.workspaceId,
        role: foreign ? null : 'machine',
        permissions: foreign ? NO_PERMISSIONS : scopes,
        instanceAdmin: false,
        ip,
      },
      rules: key.rules,
    };
  }

  /** What a session or key resolves to, through the principal cache (when on); misses that find nothing are not cached. */
  private async cached<T extends PrincipalGrant>(
    key: string,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const hit = this.options.principals?.get(key) as T | undefined;
    if (hit) return hit;
    const grant = await load();
    if (grant) this.options.principals?.set(key, grant);
    return grant;
  }

  private touchKey(id: string, now: number): void {
    const last = this.keyTouchedAt.get(id) ?? 0;
    if (now - last < KEY_TOUCH_INTERVAL_MS) return;
    this.keyTouchedAt.set(id, now);
    if (this.keyTouchedAt.size > 10_000) this.keyTouchedAt.clear();
    this.repo
      .touchApiKey(id, new Date(now).toISOString())
      .catch((e: unknown) => this.options.log.warn({ err: e, keyId: id }, 'could not record API key use'));
  }

  /**
   * The WebSocket hub's check per topic. A principal that knows its address (from authenticate()) must also pass
   * the workspace's network rules, as an HTTP request into that workspace would.
   */
  async can(principal: Principal, workspaceId: string, permission: Permission): Promise<boolean> {
    if (permission === 'system:admin') return principal.instanceAdmin;
    let allowed: boolean;
    if (workspaceId === principal.workspaceId) allowed = principal.permissions.has(permission);
    else if (principal.kind === 'apiKey') allowed = false;
    else {
      const role = await this.repo.roleOf(workspaceId, principal.userId);
      allowed = role !== undefined && permissionsOf(role).has(permission);
    }
    if (!allowed || principal.ip === undefined) return allowed;
    const rules = await this.repo.networkRulesOf(workspaceId);
    return rules !== undefined && this.options.networkRules(rules, principal.ip);
  }

  /**
   * What `userId` may do in `workspaceId` now, read from the database (no cache): the check a job makes before it
   * writes, for the user who queued it. A disabled user, a user who left the workspace and a deleted one hold nothing.
   */
  async currentPermissions(workspaceId: string, userId: string): Promise<ReadonlySet<Permission>> {
    const standing = await this.repo.standing(workspaceId, userId);
    if (!standing || standing.disabled) return NO_PERMISSIONS;
    return permissionsWith(standing.role, standing.instanceAdmin);
  }

  // --- workspaces and members

  /** Who the caller is: the user (for an API key, its creator), their workspaces, and the key itself when it is one. */
  async me(principal: Principal): Promise<{ user: User; workspaces: WorkspaceWithRole[]; apiKey: ApiKey | null }> {
    const apiKey =
      principal.apiKeyId === null
        ? null
        : ((await this.repo.apiKey(principal.workspaceId, principal.apiKeyId)) ?? null);
    return {
      user: await this.user(principal.userId),
      workspaces: await this.repo.workspacesOf(principal.userId),
      apiKey,
    };
  }

  async createWorkspace(principal: Principal, input: { name: string; slug?: string }): Promise<WorkspaceWithRole> {
    if (principal.kind !== 'user') throw errors.forbidden('workspaces:create (users only)');
    const slug = (input.slug ?? slugify(input.name)) || 'workspace';
    const id = newId('ws');
    const now = new Date().toISOString();
    try {
      await this.repo.transaction(async (repo) => {
        await repo.insertWorkspace({ id, slug, name: input.name.trim() }, now);
        await repo.upsertMembership(id, principal.userId, 'owner', now);
      });
    } catch (e) {
      if (await this.slugTaken(e)) throw errors.conflict(`A workspace with the slug '${slug}' already exists`);
      throw e;
    }
    return { ...(await this.repo.workspace(id))!, role: 'owner' };
  }

  private async slugTaken(e: unknown): Promise<boolean> {
    const { isUniqueViolation } = await import('../db/index.js');
    return isUniqueViolation(e);
  }

  async workspace(workspaceId: string): Promise<Workspace> {
    const ws = await this.repo.workspace(workspaceId);
    if (!ws) throw errors.notFound('Workspace', workspaceId);
    return ws;
  }

  async updateWorkspace(
    actor: Principal,
    workspaceId: string,
    patch: { name?: string; ipAllow?: string[]; ipDeny?: string[] },
  ): Promise<Workspace> {
    for (const [field, list] of [
      ['ipAllow', patch.ipAllow],
      ['ipDeny', patch.ipDeny],
    ] as const) {
      const check = list ? validateCidrs(list) : { ok: true as const };
      if (!check.ok)
        throw errors.validation(`${field}: ${check.message}`, [
          { pointer: `/body/${field}/${check.index}`, message: check.message },
        ]);
    }
    // Rules that shut out the caller's own address could not be changed back through the API by that caller.
    // Instance admins are exempt: the workspace-settings routes ignore the rules for them (src/http/auth.ts).
    if ((patch.ipAllow !== undefined || patch.ipDeny !== undefined) && !actor.instanceAdmin && actor.ip !== undefined) {
      const current = await this.workspace(workspaceId);
      const refusal = refusalOf(patch.ipAllow ?? current.ipAllow, patch.ipDeny ?? current.ipDeny, actor.ip);
      if (refusal) throw selfLockout(actor.ip, refusal);
    }
    await this.repo.updateWorkspace(workspaceId, { ...patch, name: patch.name?.trim() });
    if (patch.ipAllow !== undefined || patch.ipDeny !== undefined)
      await this.changes.publish({ kind: 'workspace.network_rules_changed', workspaceId });
    return this.workspace(workspaceId);
  }

  /** `weir admin clear-ip-rules`: the way back from rules that shut everyone out. Answers the workspace as it was. */
  async clearNetworkRules(workspaceId: string): Promise<Workspace> {
    const before = await this.workspace(workspaceId);
    await this.repo.updateWorkspace(workspaceId, { ipAllow: [], ipDeny: [] });
    await this.changes.publish({ kind: 'workspace.network_rules_changed', workspaceId });
    return before;
  }

  members(workspaceId: string): Promise<Member[]> {
    return this.repo.members(workspaceId);
  }

  /**
   * An instance administrator creates an account straight into a workspace. Existing accounts are invited instead
   * (src/identity/invitations.ts): nobody becomes a member of a workspace without accepting.
   */
  async createMember(
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
    const user = await this.createUser({ ...input, workspaceId });
    return (await this.repo.members(workspaceId)).find((m) => m.userId === user.id)!;
  }

  /** Makes a user a member with `role` (an accepted invitation); a user who already is one keeps their role. */
  async joinWorkspace(workspaceId: string, userId: string, role: Role): Promise<WorkspaceWithRole> {
    await this.repo.transaction(async (repo) => {
      await repo.lockWorkspace(workspaceId);
      if ((await repo.roleOf(workspaceId, userId)) === undefined)
        await repo.upsertMembership(workspaceId, userId, role, new Date().toISOString());
    });
    return (await this.repo.workspacesOf(userId)).find((w) => w.id === workspaceId)!;
  }

  async changeRole(actor: Principal, workspaceId: string, userId: string, role: Role): Promise<Member> {
    await this.repo.transaction(async (repo) => {
      await repo.lockWorkspace(workspaceId);
      const current = await repo.roleOf(workspaceId, userId);
      if (!current) throw errors.notFound('Member', userId);
      assertCanGrant(actor, role);
      assertCanGrant(actor, current);
      if (current === 'owner' && role !== 'owner' && (await repo.countOwners(workspaceId)) <= 1)
        throw errors.conflict('A workspace must keep at least one owner');
      await repo.upsertMembership(workspaceId, userId, role, new Date().toISOString());
    });
    await this.changes.publish({ kind: 'member.role_changed', workspaceId, userId });
    return (await this.repo.members(workspaceId)).find((m) => m.userId === userId)!;
  }

  async removeMember(actor: Principal, workspaceId: string, userId: string): Promise<void> {
    await this.repo.transaction(async (repo) => {
      await repo.lockWorkspace(workspaceId);
      const current = await repo.roleOf(workspaceId, userId);
      if (!current) throw errors.notFound('Member', userId);
      assertCanGrant(actor, current);
      if (current === 'owner' && (await repo.countOwners(workspaceId)) <= 1)
        throw errors.conflict('A workspace must keep at least one owner');
      await repo.deleteMembership(workspaceId, userId);
    });
    await this.changes.publish({ kind: 'member.removed', workspaceId, userId });
  }

  // --- API keys

  async createApiKey(
    actor: Principal,
    input: { name: string; scopes?: string[]; expiresAt?: string },
  ): Promise<{ key: ApiKey; token: string }> {
    if (actor.kind !== 'user' || actor.role === null) throw errors.forbidden('keys:manage');
    const grantable = new Set(ROLE_PERMISSIONS.machine.filter((p) => actor.permissions.has(p)));
    const requested = input.scopes ?? [...grantable];
    const refused = scopeError(requested, grantable);
    if (refused) throw refused;
    if (input.expiresAt !== undefined && new Date(input.expiresAt).getTime() <= Date.now()) {
      throw errors.validation('expiresAt must be in the future', [
        { pointer: '/body/expiresAt', message: 'must be in the future' },
      ]);
    }
    const id = newId('key');
    const secret = randomToken();
    await this.repo.insertApiKey(
      {
        id,
        workspaceId: actor.workspaceId,
        name: input.name.trim(),
        secretHash: sha256Hex(secret),
        scopes: [...new Set(requested)] as Permission[],
        createdBy: actor.userId,
        expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
      },
      new Date().toISOString(),
    );
    return { key: (await this.repo.apiKey(actor.workspaceId, id))!, token: `weir_${id}_${secret}` };
  }

  apiKeys(workspaceId: string): Promise<ApiKey[]> {
    return this.repo.apiKeys(workspaceId);
  }

  async revokeApiKey(workspaceId: string, id: string): Promise<ApiKey> {
    const key = await this.repo.apiKey(workspaceId, id);
    if (!key) throw errors.notFound('API key', id);
    await this.repo.revokeApiKey(workspaceId, id, new Date().toISOString());
    await this.changes.publish({ kind: 'apikey.revoked', workspaceId, apiKeyId: id });
    return (await this.repo.apiKey(workspaceId, id))!;
  }
}

const NO_PERMISSIONS: ReadonlySet<Permission> = new Set();
const ADMIN_SETS = new Map<PrincipalRole | null, ReadonlySet<Permission>>();

/** A role's permissions, plus `system:admin` for instance admins; the sets are shared, never built per request. */
function permissionsWith(role: PrincipalRole | null, instanceAdmin: boolean): ReadonlySet<Permission> {
  const base = role ? permissionsOf(role) : NO_PERMISSIONS;
  if (!instanceAdmin) return base;
  let set = ADMIN_SETS.get(role);
  if (!set) ADMIN_SETS.set(role, (set = new Set([...base, 'system:admin'])));
  return set;
}

const KEY_SETS = new Map<string, ReadonlySet<Permission>>();

/** What a key may do: its scopes, within the machine role and its creator's current role (cached per distinct pair). */
function keyPermissions(scopes: readonly string[], creatorRole: Role): ReadonlySet<Permission> {
  const cacheKey = `${creatorRole}|${scopes.join(',')}`;
  let set = KEY_SETS.get(cacheKey);
  if (!set) {
    const allowed = permissionsOf(creatorRole);
    const machine = permissionsOf('machine');
    set = new Set(scopes.filter((p): p is Permission => isPermission(p) && allowed.has(p) && machine.has(p)));
    if (KEY_SETS.size > 10_000) KEY_SETS.clear();
    KEY_SETS.set(cacheKey, set);
  }
  return set;
}

/** Nobody hands out, or takes away, a role above their own; only owners manage owners. */
export function assertCanGrant(actor: Principal, role: Role): void {
  if (!mayGrant(actor.role, role))
    throw new AppError(
      'forbidden',
      `A${actor.role === 'admin' ? 'n' : ''} ${actor.role ?? 'non-member'} cannot manage the role '${role}'`,
    );
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
}

/** 409 naming the caller's address and the rule that would shut it out. */
function selfLockout(ip: string, refusal: RuleRefusal): AppError {
  const [pointer, reason] =
    refusal.list === 'ipDeny'
      ? [`/body/ipDeny/${refusal.index}`, `the ipDeny entry '${refusal.rule}' matches your address ${ip}`]
      : ['/body/ipAllow', `ipAllow does not include your address ${ip}`];
  return new AppError(
    'self_lockout',
    `These network rules would lock you out of this workspace: ${reason}, and you could not change them back. Keep your own address allowed, or ask an instance administrator to set the rules.`,
    [{ pointer, message: reason }],
    { address: ip },
  );
}

function systemEntry(action: string) {
  return {
    workspaceId: null,
    actorType: 'system' as const,
    actorId: null,
    apiKeyId: null,
    action,
    targetType: null,
    targetId: null,
    outcome: 'success' as const,
    statusCode: null,
    ip: null,
    userAgent: null,
    requestId: null,
    detail: null,
  };
}
