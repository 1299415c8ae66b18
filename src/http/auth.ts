import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import { AppError, errors } from '../errors.js';
import { permissionsOf } from '../identity/permissions.js';
import type { IdentityService } from '../identity/service.js';
import { DEFAULT_WORKSPACE_ID } from '../identity/users.js';
import type { AuditLog, AuditOutcome } from '../system/audit.js';
import { weirCommand } from '../weir-command.js';
import type { Principal, RouteAccess } from './access.js';
import { readAuthorization } from './authorization-header.js';

/**
 * The one gate every request passes: network rules, authentication (JWT or API key), rate limits, workspace
 * resolution and the route's declared permission (src/http/access.ts). Routes never check access themselves.
 * An onSend hook writes one audit row per mutating request.
 */

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
}

/** Each answers null when that limit is off (no headers are sent then). */
export interface RequestLimits {
  user(userId: string): Promise<RateDecision | null>;
  apiKey(keyId: string): Promise<RateDecision | null>;
  /** Anonymous callers (public routes, requests without credentials), by address. */
  ip(ip: string): Promise<RateDecision | null>;
  /** Login attempts, by address (routes with `config.rateLimit: 'login'`). */
  login(ip: string): Promise<RateDecision | null>;
}

export interface AddressRules {
  allows(ip: string): boolean;
}

export interface AuthOptions {
  identity: IdentityService;
  audit: AuditLog;
  limits: RequestLimits | null;
  /** Instance-wide allow/deny lists (WEIR_IP_ALLOW / WEIR_IP_DENY). */
  globalRules: AddressRules | null;
  /** The rules of a workspace from their stored JSON (parsed once per distinct value, then cached). */
  workspaceRules(allowJson: string, denyJson: string): AddressRules | null;
  /** Benchmarks only (WEIR_INSECURE_DISABLE_AUTH): everyone is the owner of the default workspace. */
  disabled: boolean;
}

const WORKSPACE_ID = /^ws_[A-Za-z0-9]{1,40}$/;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const OPEN_PRINCIPAL: Principal = {
  kind: 'user',
  userId: 'usr_auth_disabled',
  email: null,
  apiKeyId: null,
  sessionId: null,
  workspaceId: DEFAULT_WORKSPACE_ID,
  role: 'owner',
  permissions: new Set([...permissionsOf('owner'), 'system:admin']),
  instanceAdmin: true,
};

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const { identity, limits, globalRules } = options;
  app.decorateRequest('principal', null);
  app.decorateRequest('audit', null);

  // Callback-style, with the unlimited public routes (health, metrics) answered synchronously: they are polled
  // hard by orchestrators and scrapers, and an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    if (globalRules && !globalRules.allows(request.ip)) return done(errors.ipBlocked());
    if (options.disabled) {
      request.principal = OPEN_PRINCIPAL;
      return done();
    }
    // routeOptions is a getter that builds a new object each time: read once.
    const routeConfig = request.routeOptions.config;
    // Unmatched routes (404) and the interactive docs' static files declare nothing: they are public.
    const access = routeConfig.access ?? 'public';
    if (access !== 'public') {
      authorize(request, reply, access).then(() => done(), done);
      return;
    }
    const kind = routeConfig.rateLimit;
    if (!limits || kind === 'none') return done();
    (kind === 'login' ? limits.login(request.ip) : limits.ip(request.ip)).then((d) => done(limitError(reply, d)), done);
  });

  async function authorize(
    request: FastifyRequest,
    reply: FastifyReply,
    access: Exclude<RouteAccess, 'public'>,
  ): Promise<void> {
    const header = readAuthorization(request.headers.authorization);
    const token = ('token' in header ? header.token : null) ?? queryToken(request);
    if (!token) {
      if (limits) applyLimit(reply, await limits.ip(request.ip));
      throw unauthorized(
        reply,
        errors.unauthorized('malformed' in header ? header.malformed : missingCredentials(request)),
      );
    }
    const requested = requestedWorkspace(request);
    let resolved;
    try {
      resolved = await identity.resolve(token, requested, request.ip);
    } catch (e) {
      // Failed authentications count against the address, so guessing tokens is rate limited too.
      if (limits) applyLimit(reply, await limits.ip(request.ip));
      throw e instanceof AppError && e.status === 401 ? unauthorized(reply, e) : e;
    }
    const { principal, rules } = resolved;
    request.principal = principal;
    // `rateLimit: 'none'` exempts a route from the caller's budget too (tus PATCH: one upload is hundreds of them).
    if (limits && request.routeOptions.config.rateLimit !== 'none')
      applyLimit(
        reply,
        principal.apiKeyId ? await limits.apiKey(principal.apiKeyId) : await limits.user(principal.userId),
      );
    if (access === 'authenticated') return;
    if (access === 'system:admin') {
      if (!principal.instanceAdmin) throw errors.forbidden(access);
      return;
    }
    // Not a member: the workspace, and so everything in it, does not exist for this caller.
    if (principal.role === null) throw errors.notFound('Workspace', principal.workspaceId);
    // A workspace's own IP rules guard what is inside it; who-am-I and workspace creation stay reachable, and
    // instance admins keep the workspace-settings routes.
    if (rules && !(principal.instanceAdmin && request.routeOptions.config.instanceAdminBypassesNetworkRules === true)) {
      const workspaceRules = options.workspaceRules(rules.allowJson, rules.denyJson);
      if (workspaceRules && !workspaceRules.allows(request.ip)) throw errors.ipBlocked();
    }
    if (!principal.permissions.has(access)) throw errors.forbidden(access);
  }

  // Written when the response is about to be sent, not after it was: a client that hangs up before the answer
  // (after the handler did its work) ends the response without 'finish', and Fastify then skips onResponse.
  // Awaited, so a client that sees the answer can also read its audit row.
  const audit: onSendHookHandler = (request, reply, payload, done) => {
    const url = request.routeOptions.url;
    if (!MUTATING.has(request.method) || url === undefined || auditedRequests.has(request)) return done(null, payload);
    // An onSend hook that throws sends again (the error): one row per request all the same.
    auditedRequests.add(request);
    // AuditLog.record never throws.
    void recordAudit(request, reply, url).then(() => done(null, payload));
  };
  // Only on routes that can mutate: reads do not pay for a hook per request.
  app.addHook('onRoute', (route) => {
    if (
      ![route.method].flat().some((m) => MUTATING.has(m)) ||
      (route.config as { audit?: unknown } | undefined)?.audit === false
    )
      return;
    route.onSend = [...[route.onSend ?? []].flat(), audit];
  });

  async function recordAudit(request: FastifyRequest, reply: FastifyReply, url: string): Promise<void> {
    const config = request.routeOptions.config;
    const note = request.audit;
    const principal = request.principal;
    const status = reply.statusCode;
    const outcome: AuditOutcome =
      status < 400 ? 'success' : status === 401 || status === 403 || status === 429 ? 'denied' : 'failure';
    const params = request.params as Record<string, string | undefined> | undefined;
    await options.audit.record({
      workspaceId: note?.workspaceId ?? (principal && principal.role !== null ? principal.workspaceId : null),
      actorType: principal ? principal.kind : note?.actorId ? 'user' : 'anonymous',
      actorId: note?.actorId ?? principal?.userId ?? null,
      apiKeyId: principal?.apiKeyId ?? null,
      action: note?.action ?? (config.audit || `${request.method} ${url}`),
      targetType: note?.targetType ?? targetTypeOf(url),
      targetId: note?.targetId ?? params?.id ?? params?.userId ?? null,
      outcome,
      statusCode: status,
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
      requestId: request.id,
      detail: note?.detail && Object.keys(note.detail).length > 0 ? note.detail : null,
    });
  }
}

const auditedRequests = new WeakSet<FastifyRequest>();

/** The workspace a request names: a `:workspaceId` route param wins over the `x-weir-workspace` header. */
function requestedWorkspace(request: FastifyRequest): string | undefined {
  const fromParams = (request.params as { workspaceId?: string } | undefined)?.workspaceId;
  const header = request.headers['x-weir-workspace'];
  const value = fromParams ?? (Array.isArray(header) ? header[0] : header);
  if (value === undefined || value === '') return undefined;
  if (!WORKSPACE_ID.test(value)) throw errors.notFound('Workspace', value.slice(0, 64));
  return value;
}

/**
 * Server-Sent Events and WebSocket clients in browsers cannot set headers; those routes (and only those) may
 * carry the token as `?access_token=`.
 */
function queryToken(request: FastifyRequest): string | null {
  if (!(request.routeOptions.config as { queryToken?: boolean }).queryToken) return null;
  const value = (request.query as { access_token?: unknown } | undefined)?.access_token;
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** What a request without credentials is told: how to send them, here. */
function missingCredentials(request: FastifyRequest): string {
  const viaQuery = (request.routeOptions.config as { queryToken?: boolean }).queryToken
    ? ' (or as ?access_token=<token> on this route)'
    : '';
  return `This request needs an access token or API key: send it as \`Authorization: Bearer <token>\`${viaQuery}. Log in with POST /api/v1/auth/login (or \`${weirCommand('login')}\`) for a token`;
}

function unauthorized(reply: FastifyReply, e: AppError): AppError {
  reply.header('www-authenticate', 'Bearer realm="weir"');
  return e;
}

function applyLimit(reply: FastifyReply, d: RateDecision | null): void {
  const refused = limitError(reply, d);
  if (refused) throw refused;
}

/** Sets the RateLimit headers of a decision; answers the 429 to send when it refuses, else undefined. */
function limitError(reply: FastifyReply, d: RateDecision | null): AppError | undefined {
  if (d === null) return undefined;
  reply.header('ratelimit-limit', d.limit);
  reply.header('ratelimit-remaining', Math.max(0, d.remaining));
  reply.header('ratelimit-reset', d.resetSeconds);
  if (d.allowed) return undefined;
  reply.header('retry-after', d.retryAfterSeconds);
  return errors.rateLimited(d.retryAfterSeconds);
}

/** `/api/v1/datasets/:id/versions` → `dataset`; `/api/v1/workspaces/:workspaceId/members/:userId` → `member`. */
function targetTypeOf(url: string): string | null {
  const parts = url.split('/').filter((p) => p && !p.startsWith(':') && p !== 'api' && p !== 'v1');
  const last = parts.at(-1);
  if (!last) return null;
  const noun =
    ['cancel', 'retry', 'login', 'logout', 'refresh', 'revoke'].includes(last) && parts.length > 1
      ? parts.at(-2)!
      : last;
  return noun.endsWith('ies') ? `${noun.slice(0, -3)}y` : noun.endsWith('s') ? noun.slice(0, -1) : noun;
}
