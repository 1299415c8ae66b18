import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import type { InvitationService } from './invitations.js';
import type { IdentityService } from './service.js';
import { errors } from '../errors.js';
import { noteAudit, principalOf } from '../http/access.js';
import { PERMISSIONS, ROLE_PERMISSIONS, ALL_PERMISSIONS } from '../identity/permissions.js';
import { invitationRoutes } from './invitation-routes.js';
import {
  AddMemberBody,
  ApiKeySchema,
  ChangeRoleBody,
  CreatedKeyResponse,
  CreateKeyBody,
  CreateUserBody,
  CreateWorkspaceBody,
  InvitationSchema,
  KeyParams,
  LoginBody,
  MemberParams,
  MemberSchema,
  MeResponse,
  PageQuery,
  PatchWorkspaceBody,
  PermissionsResponse,
  RefreshBody,
  TokenResponse,
  UserSchema,
  WorkspaceParams,
  WorkspaceSchema,
  WorkspaceWithRoleSchema,
} from './schemas.js';

const REFRESH_COOKIE = 'weir_refresh';
const COOKIE_PATH = '/api/v1/auth';

/** /api/v1/auth, /workspaces, /invitations, /keys, /users, /permissions. */
export interface IdentityRouteOptions {
  config: Pick<Config, 'auth'>;
  identity: IdentityService;
  invitations: InvitationService;
}

export const identityRoutes: FastifyPluginAsyncTypebox<IdentityRouteOptions> = async (
  app,
  { config, identity, invitations },
) => {
  for (const schema of [
    UserSchema,
    WorkspaceSchema,
    WorkspaceWithRoleSchema,
    MemberSchema,
    InvitationSchema,
    ApiKeySchema,
  ])
    app.addSchema(schema);

  const setRefreshCookie = (reply: FastifyReply, token: string, expiresAt: string) => {
    const maxAge = identity.sessions.secondsUntil(expiresAt);
    reply.header(
      'set-cookie',
      `${REFRESH_COOKIE}=${token}; Path=${COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${config.auth.cookieSecure ? '; Secure' : ''}`,
    );
  };
  const clearRefreshCookie = (reply: FastifyReply) =>
    reply.header(
      'set-cookie',
      `${REFRESH_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${config.auth.cookieSecure ? '; Secure' : ''}`,
    );
  const client = (request: FastifyRequest) => ({ ip: request.ip, userAgent: request.headers['user-agent'] ?? null });

  // --- authentication

  app.post(
    '/api/v1/auth/login',
    {
      config: { access: 'public', audit: 'auth.login', rateLimit: 'login' },
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Log in with email and password',
        description:
          'Answers a 15-minute access token (JWT) and a rotating refresh token (also as an httpOnly cookie). Wrong email and wrong password answer the same 401; repeated failures lock out, for a growing time (429 with Retry-After), the address that failed against the account, and an address failing across accounts; an address without failures still gets in with the right password.',
        body: LoginBody,
        response: { 200: TokenResponse },
      },
    },
    async (request, reply) => {
      noteAudit(request, { detail: { email: request.body.email.trim().toLowerCase() } });
      const { user, tokens } = await identity.sessions.login(
        request.body.email,
        request.body.password,
        client(request),
      );
      noteAudit(request, { actorId: user.id, targetType: 'user', targetId: user.id });
      setRefreshCookie(reply, tokens.refreshToken, tokens.refreshExpiresAt);
      reply.header('cache-control', 'no-store');
      return { ...tokens, user };
    },
  );

  app.post(
    '/api/v1/auth/refresh',
    {
      // The body is optional (browsers send only the cookie), so it is documented here and checked in the handler.
      config: { access: 'public', audit: 'auth.refresh', openapiBody: RefreshBody },
      schema: {
        tags: ['auth'],
        operationId: 'refreshSession',
        summary: 'Exchange a refresh token for new tokens (rotation)',
        description:
          'The refresh token comes from the body or the cookie. Each one works once; presenting one that was already used revokes the whole session (reuse detection).',
        response: { 200: TokenResponse },
      },
    },
    async (request, reply) => {
      const fromBody = (request.body as { refreshToken?: unknown } | undefined)?.refreshToken;
      if (fromBody !== undefined && (typeof fromBody !== 'string' || fromBody.length === 0 || fromBody.length > 200)) {
        throw errors.validation('refreshToken must be a non-empty string', [
          { pointer: '/body/refreshToken', message: 'must be a non-empty string of at most 200 characters' },
        ]);
      }
      const token = fromBody ?? cookie(request.headers.cookie, REFRESH_COOKIE);
      if (!token) throw errors.unauthorized('No refresh token: send it in the body or the cookie');
      const outcome = await identity.sessions.refresh(token);
      noteAudit(request, { actorId: outcome.userId, targetType: 'session', targetId: outcome.sessionId });
      if ('reuseDetected' in outcome) {
        noteAudit(request, { action: 'auth.refresh_reuse', detail: { sessionRevoked: true } });
        clearRefreshCookie(reply);
        throw errors.unauthorized('This refresh token was already used; the session has been revoked');
      }
      const user = await identity.users.get(outcome.userId);
      setRefreshCookie(reply, outcome.tokens.refreshToken, outcome.tokens.refreshExpiresAt);
      reply.header('cache-control', 'no-store');
      return { ...outcome.tokens, user };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { access: 'authenticated', audit: 'auth.logout' },
      schema: {
        tags: ['auth'],
        operationId: 'logout',
        summary: 'End this session: its access and refresh tokens stop working now',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.sessionId === null)
        throw errors.badRequest('API keys have no session to log out of; revoke the key instead');
      await identity.sessions.logout(principal.sessionId);
      noteAudit(request, { targetType: 'session', targetId: principal.sessionId });
      clearRefreshCookie(reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        operationId: 'getMe',
        summary: 'Who am I: user (or API key and its creator), current workspace and permissions, all workspaces',
        response: { 200: MeResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { user, workspaces, apiKey } = await identity.users.me(principal);
      return {
        user,
        workspace: {
          id: principal.workspaceId,
          role: principal.role,
          permissions: ALL_PERMISSIONS.filter((p) => principal.permissions.has(p)),
        },
        workspaces: principal.kind === 'apiKey' ? workspaces.filter((w) => w.id === principal.workspaceId) : workspaces,
        via: principal.kind === 'apiKey' ? ('apiKey' as const) : ('jwt' as const),
        apiKeyId: principal.apiKeyId,
        apiKey,
      };
    },
  );

  app.get(
    '/api/v1/permissions',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        operationId: 'getPermissionMatrix',
        summary: 'The permission matrix: every permission and what each role grants',
        response: { 200: PermissionsResponse },
      },
    },
    async () => ({
      permissions: ALL_PERMISSIONS.map((name) => ({ name, description: PERMISSIONS[name] })),
      roles: Object.entries(ROLE_PERMISSIONS).map(([name, permissions]) => ({ name, permissions: [...permissions] })),
    }),
  );

  // --- workspaces and members

  app.get(
    '/api/v1/workspaces',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['workspaces'],
        operationId: 'listWorkspaces',
        summary: 'Workspaces I belong to, with my role',
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('WorkspaceWithRole')) }) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { workspaces } = await identity.users.me(principal);
      return {
        items: principal.kind === 'apiKey' ? workspaces.filter((w) => w.id === principal.workspaceId) : workspaces,
      };
    },
  );

  app.post(
    '/api/v1/workspaces',
    {
      config: { access: 'authenticated', audit: 'workspace.create' },
      schema: {
        tags: ['workspaces'],
        operationId: 'createWorkspace',
        summary: 'Create a workspace (you become its owner)',
        body: CreateWorkspaceBody,
        response: { 201: Type.Ref('WorkspaceWithRole') },
      },
    },
    async (request, reply) => {
      const ws = await identity.workspaces.create(principalOf(request), request.body);
      noteAudit(request, { workspaceId: ws.id, targetType: 'workspace', targetId: ws.id });
      return reply.code(201).send(ws);
    },
  );

  // The workspace-settings routes: an instance admin reaches them whatever the workspace's network rules, so
  // rules that shut everyone out can be undone through the API too.
  app.get(
    '/api/v1/workspaces/:workspaceId',
    {
      config: { access: 'members:read', instanceAdminBypassesNetworkRules: true },
      schema: {
        tags: ['workspaces'],
        operationId: 'getWorkspace',
        summary: 'A workspace',
        params: WorkspaceParams,
        response: { 200: Type.Ref('Workspace') },
      },
    },
    async (request) => identity.workspaces.get(request.params.workspaceId),
  );

  app.patch(
    '/api/v1/workspaces/:workspaceId',
    {
      config: { access: 'workspace:manage', audit: 'workspace.update', instanceAdminBypassesNetworkRules: true },
      schema: {
        tags: ['workspaces'],
        operationId: 'updateWorkspace',
        summary: 'Rename a workspace or set its IP allow/deny lists',
        description:
          'Rules that would refuse your own address are refused (409 self_lockout) unless you are an instance administrator: ' +
          "instance administrators are not subject to a workspace's rules on this route and GET /api/v1/workspaces/{workspaceId}.",
        params: WorkspaceParams,
        body: PatchWorkspaceBody,
        response: { 200: Type.Ref('Workspace') },
      },
    },
    async (request) => {
      noteAudit(request, {
        targetType: 'workspace',
        targetId: request.params.workspaceId,
        detail: { ...request.body },
      });
      return identity.workspaces.update(principalOf(request), request.params.workspaceId, request.body);
    },
  );

  app.get(
    '/api/v1/workspaces/:workspaceId/members',
    {
      config: { access: 'members:read' },
      schema: {
        tags: ['workspaces'],
        operationId: 'listWorkspaceMembers',
        summary: 'Members of a workspace',
        params: WorkspaceParams,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('Member')) }) },
      },
    },
    async (request) => ({ items: await identity.members.list(request.params.workspaceId) }),
  );

  app.post(
    '/api/v1/workspaces/:workspaceId/members',
    {
      config: { access: 'members:manage', audit: 'member.add' },
      schema: {
        tags: ['workspaces'],
        operationId: 'addWorkspaceMember',
        summary:
          'Invite a person by email (202), or, as an instance admin giving a password, create their account as a member (201)',
        description:
          'Without a password this is POST /api/v1/workspaces/{workspaceId}/invitations: the person becomes a member only by accepting, ' +
          'and the answer is the same whether or not an account has the address. Nobody can grant a role above their own; only owners add owners.',
        params: WorkspaceParams,
        body: AddMemberBody,
        response: { 201: Type.Ref('Member'), 202: Type.Ref('Invitation') },
      },
    },
    async (request, reply) => {
      const { email, role, password, displayName } = request.body;
      if (password === undefined) {
        if (displayName !== undefined)
          throw errors.validation('displayName names a new account: give it with a password, or leave it out', [
            { pointer: '/body/displayName', message: 'only with password' },
          ]);
        const invitation = await invitations.invite(principalOf(request), request.params.workspaceId, { email, role });
        noteAudit(request, {
          action: 'invitation.create',
          targetType: 'invitation',
          targetId: invitation.id,
          detail: { email: invitation.email, role },
        });
        return reply.code(202).send(invitation);
      }
      const member = await identity.members.create(principalOf(request), request.params.workspaceId, {
        email,
        role,
        password,
        displayName,
      });
      noteAudit(request, {
        targetType: 'user',
        targetId: member.userId,
        detail: { role: member.role, userCreated: true },
      });
      return reply.code(201).send(member);
    },
  );

  app.patch(
    '/api/v1/workspaces/:workspaceId/members/:userId',
    {
      config: { access: 'members:manage', audit: 'member.role_change' },
      schema: {
        tags: ['workspaces'],
        operationId: 'updateWorkspaceMember',
        summary: "Change a member's role",
        params: MemberParams,
        body: ChangeRoleBody,
        response: { 200: Type.Ref('Member') },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'user', targetId: request.params.userId, detail: { role: request.body.role } });
      return identity.members.changeRole(
        principalOf(request),
        request.params.workspaceId,
        request.params.userId,
        request.body.role,
      );
    },
  );

  app.delete(
    '/api/v1/workspaces/:workspaceId/members/:userId',
    {
      config: { access: 'members:manage', audit: 'member.remove' },
      schema: {
        tags: ['workspaces'],
        operationId: 'removeWorkspaceMember',
        summary: 'Remove a member (a workspace keeps at least one owner)',
        params: MemberParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      noteAudit(request, { targetType: 'user', targetId: request.params.userId });
      await identity.members.remove(principalOf(request), request.params.workspaceId, request.params.userId);
      return reply.code(204).send(null);
    },
  );

  // --- API keys of the request's workspace

  app.get(
    '/api/v1/keys',
    {
      config: { access: 'keys:manage' },
      schema: {
        tags: ['keys'],
        operationId: 'listApiKeys',
        summary: 'API keys of the workspace (never the secrets)',
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('ApiKey')) }) },
      },
    },
    async (request) => ({ items: await identity.apiKeys.list(principalOf(request).workspaceId) }),
  );

  app.post(
    '/api/v1/keys',
    {
      config: { access: 'keys:manage', audit: 'apikey.create' },
      schema: {
        tags: ['keys'],
        operationId: 'createApiKey',
        summary: 'Create an API key (the token is shown once)',
        description:
          'Send it as `Authorization: Bearer weir_…`. Its scopes are a subset of what you hold and of the machine role; it acts for you and stops working if you leave the workspace.',
        body: CreateKeyBody,
        response: { 201: CreatedKeyResponse },
      },
    },
    async (request, reply) => {
      const created = await identity.apiKeys.create(principalOf(request), request.body);
      noteAudit(request, { targetType: 'apikey', targetId: created.key.id, detail: { scopes: created.key.scopes } });
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      config: { access: 'keys:manage', audit: 'apikey.revoke' },
      schema: {
        tags: ['keys'],
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key: refused from the next request on',
        params: KeyParams,
        response: { 200: Type.Ref('ApiKey') },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'apikey', targetId: request.params.id });
      return identity.apiKeys.revoke(principalOf(request).workspaceId, request.params.id);
    },
  );

  // --- instance administration

  app.get(
    '/api/v1/users',
    {
      config: { access: 'system:admin' },
      schema: {
        tags: ['users'],
        operationId: 'listUsers',
        summary: 'All users of the instance',
        querystring: PageQuery,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('User')), total: Type.Integer() }) },
      },
    },
    async (request) => identity.users.list(request.query.limit, request.query.offset),
  );

  app.post(
    '/api/v1/users',
    {
      config: { access: 'system:admin', audit: 'user.create' },
      schema: {
        tags: ['users'],
        operationId: 'createUser',
        summary: 'Create a user, optionally as a member of a workspace',
        body: CreateUserBody,
        response: { 201: Type.Ref('User') },
      },
    },
    async (request, reply) => {
      const { workspaceId, role } = request.body;
      if (workspaceId) await identity.workspaces.get(workspaceId);
      const user = await identity.users.create({ ...request.body, role: role ?? (workspaceId ? 'viewer' : undefined) });
      noteAudit(request, {
        targetType: 'user',
        targetId: user.id,
        detail: { workspaceId, role, instanceAdmin: user.instanceAdmin },
      });
      return reply.code(201).send(user);
    },
  );

  await app.register(invitationRoutes, { invitations });
};

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
