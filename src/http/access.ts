import type { Permission, PrincipalRole } from '../identity/permissions.js';

/**
 * How routes declare who may call them, and who the caller is. Every route sets `config.access`; one hook
 * (src/http/auth.ts) authenticates the caller, resolves the workspace and enforces the permission, so a route
 * added later is protected by writing one line, and the route-walk test covers it automatically.
 *
 *   access: 'public'          no credentials needed (health, login, docs)
 *   access: 'authenticated'   any signed-in user or API key (e.g. /auth/me)
 *   access: '<permission>'    the caller's role in the request's workspace must grant it
 */
export type RouteAccess = 'public' | 'authenticated' | Permission;

/**
 * What a route does to a dataset its request names: `reads` it (or only keeps a reference, as a saved pipeline's
 * output), `appends` a version to it (datasets:write, plus datasets:delete when it keeps only its newest N), `edits`
 * its metadata (keepVersions: datasets:delete), `deletes` it or its versions. Routes declare every such field in
 * `config.datasets`, keyed by a pointer into the request (`/params/id`, `/body/definition/output/datasetId`,
 * `/headers/upload-metadata/datasetId`) or into what the request names (`/pipeline/output/datasetId`: where a saved
 * pipeline stores). app.ts refuses a mutating route whose schema names a dataset it does not declare; the
 * route-walk test exercises every declared write against a caller without the permission it needs.
 */
export type DatasetUse = 'reads' | 'appends' | 'edits' | 'deletes';
export type DatasetUses = Readonly<Record<string, DatasetUse>>;

/** The authenticated caller of a request, bound to the workspace the request works in. */
export interface Principal {
  kind: 'user' | 'apiKey';
  /** The user, or for an API key the user who created it. */
  userId: string;
  email: string | null;
  apiKeyId: string | null;
  /** The login session (refresh-token family) a JWT belongs to. */
  sessionId: string | null;
  /** The workspace of this request: the `x-weir-workspace` header, a `:workspaceId` route param, the key's workspace, or the user's default. */
  workspaceId: string;
  /** Role in `workspaceId`; null when the caller is not a member there (it then holds no workspace permission). */
  role: PrincipalRole | null;
  permissions: ReadonlySet<Permission>;
  /** Instance administrator: holds `system:admin` in every workspace. */
  instanceAdmin: boolean;
  /**
   * The address the principal authenticated from. AccessControl.can() applies the target workspace's network
   * rules to it: checks that outlive the request (a WebSocket connection's topic subscriptions) need them too.
   */
  ip?: string;
}

/**
 * What non-HTTP entry points (the WebSocket hub, SSE) use to authenticate a token and check a workspace
 * permission, with exactly the rules the HTTP hook applies.
 */
export interface AccessControl {
  /** `token` is a JWT access token or a `weir_…` API key. Throws a 401 AppError when it is not valid. */
  authenticate(token: string, ip: string, workspaceId?: string): Promise<Principal>;
  /** May this principal exercise `permission` in `workspaceId`? False for workspaces it does not belong to. */
  can(principal: Principal, workspaceId: string, permission: Permission): Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** What the route does to each dataset its request names (see DatasetUse). */
    datasets?: DatasetUses;
    /** The route accepts the token as `?access_token=` too (SSE and WebSocket: browsers cannot set headers there). */
    queryToken?: boolean;
    /**
     * Instance administrators reach this route whatever the workspace's network rules (the workspace-settings
     * routes: rules that shut everyone out must stay reversible through the API).
     */
    instanceAdminBypassesNetworkRules?: boolean;
    /**
     * `login`: a tighter, dedicated limit per address instead of the anonymous one. `none`: not limited (health
     * and metrics: cheap, and polled by orchestrators and scrapers that must never be turned away; tus PATCH: a
     * multi-gigabyte upload is hundreds of requests, each bounded by the bytes it writes).
     */
    rateLimit?: 'login' | 'none';
  }
  interface FastifyContextConfig {
    /**
     * Audit action name of a mutating route (`dataset.create`); default `<METHOD> <route>`. `false`: the route's
     * requests are not audited one by one (tus PATCH: a multi-gigabyte upload is hundreds of chunks; its creation
     * and termination are audited, and its ingest is a job).
     */
    audit?: string | false;
  }
  interface FastifyRequest {
    /** Set by the auth hook before the handler runs; null only on public routes. */
    principal: Principal | null;
    /** What the handler adds to this request's audit row (target, outcome detail, a more precise action). */
    audit: AuditNote | null;
  }
}

export interface AuditNote {
  action?: string;
  targetType?: string;
  targetId?: string;
  workspaceId?: string;
  /** For requests that authenticate themselves (login): who it turned out to be. */
  actorId?: string;
  detail?: Record<string, unknown>;
}

/** Adds to the audit row of this request (merged; later calls win per field). */
export function noteAudit(request: { audit: AuditNote | null }, note: AuditNote): void {
  request.audit = { ...request.audit, ...note, detail: { ...request.audit?.detail, ...note.detail } };
}

/** The principal of a non-public route; the auth hook guarantees it is set. */
export function principalOf(request: { principal: Principal | null }): Principal {
  if (!request.principal) throw new Error('principalOf called on a public route');
  return request.principal;
}
