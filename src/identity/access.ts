import type { Clock } from '../clock.js';
import { errors } from '../errors.js';
import type { AccessControl, Principal } from '../http/access.js';
import type { Log } from '../logger.js';
import { isPermission, permissionsOf, type Permission, type PrincipalRole, type Role } from './permissions.js';
import type { PrincipalCache } from './principal-cache.js';
import type { PrincipalGrant, StoredNetworkRules } from './records.js';
import type { IdentityRepos } from './repo.js';
import { safeEqual, sha256Hex } from './secrets.js';
import { looksLikeJwt, type TokenSigner } from './tokens.js';

/** A principal with the network rules of the workspace it was resolved in (null: not a member there). */
export interface ResolvedPrincipal {
  principal: Principal;
  rules: StoredNetworkRules | null;
}

/** Stored rules → does this address pass them? (src/http/guards.ts parses and caches them.) */
export type NetworkRulesCheck = (rules: StoredNetworkRules, ip: string) => boolean;

const API_KEY_RE = /^weir_(key_[0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;
// Writing last_used_at on every request would turn every read into a write; once a minute per key is enough.
const KEY_TOUCH_INTERVAL_MS = 60_000;

/**
 * Who a token is and what they may do, for every entry point: HTTP requests (src/http/auth.ts), the WebSocket hub
 * and SSE (AccessControl), and jobs acting for the user who queued them (currentPermissions).
 */
export class IdentityAccess implements AccessControl {
  private readonly keyTouchedAt = new Map<string, number>();

  constructor(
    private readonly repos: Pick<IdentityRepos, 'principals' | 'memberships' | 'workspaces' | 'apiKeys'>,
    private readonly signer: TokenSigner,
    /** Null turns caching off (several API servers: an invalidation here would not reach the others). */
    private readonly principals: PrincipalCache<PrincipalGrant> | null,
    private readonly networkRules: NetworkRulesCheck,
    private readonly log: Log,
    /** Session and key expiry, and when a key was last used; access tokens keep real time (tokens.ts). */
    private readonly clock: Clock,
  ) {}

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
      this.repos.principals.ofSession(sub, sid, workspaceId),
    );
    // A revoked session (logout, refresh reuse) ends its access tokens at once, not when they expire.
    if (!grant || grant.sessionRevokedAt !== null || grant.disabled)
      throw errors.unauthorized('The access token is no longer valid');
    // Access tokens outlive nothing: past the session's end (the refresh token's lifetime) they stop too.
    if (Date.parse(grant.sessionExpiresAt) <= this.clock.nowMs())
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
    const key = await this.cached(`k\n${m[1]!}`, () => this.repos.principals.ofApiKey(m[1]!));
    // The secret is compared on every use, cached or not: the cache is keyed by the key's id, which is public.
    if (!key || !safeEqual(key.secretHash, sha256Hex(m[2]!))) throw errors.unauthorized('The API key is not valid');
    const now = this.clock.nowMs();
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
    const hit = this.principals?.get(key) as T | undefined;
    if (hit) return hit;
    const grant = await load();
    if (grant) this.principals?.set(key, grant);
    return grant;
  }

  private touchKey(id: string, now: number): void {
    const last = this.keyTouchedAt.get(id) ?? 0;
    if (now - last < KEY_TOUCH_INTERVAL_MS) return;
    this.keyTouchedAt.set(id, now);
    if (this.keyTouchedAt.size > 10_000) this.keyTouchedAt.clear();
    this.repos.apiKeys
      .touch(id, new Date(now).toISOString())
      .catch((e: unknown) => this.log.warn({ err: e, keyId: id }, 'could not record API key use'));
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
      const role = await this.repos.memberships.roleOf(workspaceId, principal.userId);
      allowed = role !== undefined && permissionsOf(role).has(permission);
    }
    if (!allowed || principal.ip === undefined) return allowed;
    const rules = await this.repos.workspaces.networkRulesOf(workspaceId);
    return rules !== undefined && this.networkRules(rules, principal.ip);
  }

  /**
   * What `userId` may do in `workspaceId` now, read from the database (no cache): the check a job makes before it
   * writes, for the user who queued it. A disabled user, a user who left the workspace and a deleted one hold nothing.
   */
  async currentPermissions(workspaceId: string, userId: string): Promise<ReadonlySet<Permission>> {
    const standing = await this.repos.principals.standing(workspaceId, userId);
    if (!standing || standing.disabled) return NO_PERMISSIONS;
    return permissionsWith(standing.role, standing.instanceAdmin);
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
