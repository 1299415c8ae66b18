import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditLog } from './audit.js';
import { errors } from '../errors.js';
import { principalOf } from '../http/access.js';
import { NullableString, StringEnum } from '../http/schema-types.js';

const AuditEventSchema = Type.Object(
  {
    id: Type.String(),
    at: Type.String({ format: 'date-time' }),
    workspaceId: NullableString(),
    actorType: StringEnum(['user', 'apiKey', 'anonymous', 'system'] as const),
    actorId: NullableString(),
    apiKeyId: NullableString(),
    action: Type.String(),
    targetType: NullableString(),
    targetId: NullableString(),
    outcome: StringEnum(['success', 'failure', 'denied'] as const),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    ip: NullableString(),
    userAgent: NullableString(),
    requestId: NullableString(),
    detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  },
  { $id: 'AuditEvent' },
);

const AuditQuery = Type.Object({
  action: Type.Optional(
    Type.String({ maxLength: 100, description: 'Exact action, or a prefix ending in `.*` (e.g. `auth.*`)' }),
  ),
  actorId: Type.Optional(Type.String({ maxLength: 64 })),
  targetId: Type.Optional(Type.String({ maxLength: 64 })),
  outcome: Type.Optional(StringEnum(['success', 'failure', 'denied'] as const)),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  scope: Type.Optional(
    StringEnum(['workspace', 'instance'] as const, {
      description: '`instance`: every workspace and events outside any (instance admins only)',
      default: 'workspace',
    }),
  ),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

/** GET /api/v1/audit: read-only; there is no route that changes or deletes audit rows. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: Pick<AuditLog, 'list'> }> = async (app, { audit }) => {
  app.addSchema(AuditEventSchema);
  app.get(
    '/api/v1/audit',
    {
      config: { access: 'audit:read' },
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEvents',
        summary: 'The audit log of the workspace, newest first',
        querystring: AuditQuery,
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('AuditEvent')),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { scope, since, until, ...q } = request.query;
      if (scope === 'instance' && !principal.instanceAdmin) throw errors.forbidden('system:admin');
      const { items, total } = await audit.list({
        ...q,
        workspaceId: scope === 'instance' ? null : principal.workspaceId,
        since: since ? new Date(since).toISOString() : undefined,
        until: until ? new Date(until).toISOString() : undefined,
      });
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );
};
