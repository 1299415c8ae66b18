import { systemClock, type Clock } from '../clock.js';
import type { AccessControl, Principal } from '../http/access.js';
import type { Log } from '../logger.js';
import type { AuditLog } from '../system/audit.js';
import { IdentityAccess, type NetworkRulesCheck, type ResolvedPrincipal } from './access.js';
import { ApiKeys } from './api-keys.js';
import { NO_CHANGE_PUBLISHER, type IdentityChangePublisher } from './changes.js';
import { Members } from './members.js';
import type { Permission } from './permissions.js';
import type { PrincipalCache } from './principal-cache.js';
import type { PrincipalGrant } from './records.js';
import type { IdentityRepos } from './repo.js';
import { Sessions, type LoginGuard } from './sessions.js';
import type { TokenSigner } from './tokens.js';
import { Users } from './users.js';
import { Workspaces } from './workspaces.js';

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
  /** What session, refresh, API key and invitation expiry go by (default the system clock). */
  clock?: Clock;
}

/**
 * The identity domain as the rest of Weir uses it: one module per idea (users, sessions, workspaces, members, API
 * keys), each over the identity repositories it uses, and the access checks every entry point makes: `resolve` for HTTP requests,
 * AccessControl for the WebSocket hub and SSE, `currentPermissions` for jobs.
 */
export class IdentityService implements AccessControl {
  readonly users: Users;
  readonly sessions: Sessions;
  readonly workspaces: Workspaces;
  readonly members: Members;
  readonly apiKeys: ApiKeys;
  private readonly access: IdentityAccess;

  constructor(repos: IdentityRepos, signer: TokenSigner, options: IdentityOptions) {
    const changes = options.changes ?? NO_CHANGE_PUBLISHER;
    const clock = options.clock ?? systemClock;
    this.users = new Users(repos, options.audit, options.log, clock);
    this.sessions = new Sessions(repos, signer, options.loginGuard, options.refreshTtlSeconds, changes, clock);
    this.workspaces = new Workspaces(repos, changes, clock);
    this.members = new Members(repos, this.users, changes, clock);
    this.apiKeys = new ApiKeys(repos.apiKeys, changes, clock);
    this.access = new IdentityAccess(repos, signer, options.principals, options.networkRules, options.log, clock);
  }

  /** Token → principal in the requested workspace (or the default one), with that workspace's network rules. Throws 401. */
  resolve(token: string, requestedWorkspace?: string, ip?: string): Promise<ResolvedPrincipal> {
    return this.access.resolve(token, requestedWorkspace, ip);
  }

  authenticate(token: string, ip: string, workspaceId?: string): Promise<Principal> {
    return this.access.authenticate(token, ip, workspaceId);
  }

  can(principal: Principal, workspaceId: string, permission: Permission): Promise<boolean> {
    return this.access.can(principal, workspaceId, permission);
  }

  currentPermissions(workspaceId: string, userId: string): Promise<ReadonlySet<Permission>> {
    return this.access.currentPermissions(workspaceId, userId);
  }
}
