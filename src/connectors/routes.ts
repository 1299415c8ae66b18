import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { noteAudit, principalOf } from '../http/access.js';
import { bearerToken } from '../identity/secrets.js';
import { JobSchema } from '../jobs/schemas.js';
import type { ConnectorService } from './service.js';
import {
  BackfillBody,
  ConnectorListQuery,
  ConnectorListResponse,
  ConnectorParams,
  ConnectorSchema,
  CreateConnectorBody,
  CreatedConnectorSchema,
  LatestSchema,
  PushKeyResponse,
  PushQuery,
  PushResponse,
  SyncListQuery,
  SyncListResponse,
  SyncSchema,
  TestConnectorBody,
  TestResultSchema,
  UpdateConnectorBody,
} from './schemas.js';

const TAGS = ['connectors'];

/** Body types a device push may use; each arrives as text and is parsed by the service (bad input is data). */
const PUSH_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl'];

/** /api/v1/connectors: thin routes over ConnectorService. */
export const connectorRoutes: FastifyPluginAsyncTypebox<{
  connectors: ConnectorService;
  maxBodyBytes: number;
}> = async (app, { connectors, maxBodyBytes }) => {
  app.get(
    '/',
    {
      config: { access: 'connectors:read' },
      schema: {
        tags: TAGS,
        operationId: 'listConnectors',
        summary: 'List connectors, newest first',
        querystring: ConnectorListQuery,
        response: { 200: ConnectorListResponse },
      },
    },
    async (request) => {
      const { limit, offset, type, name, search } = request.query;
      const { items, total } = await connectors.list({
        workspaceId: principalOf(request).workspaceId,
        limit,
        offset,
        type,
        name,
        search,
      });
      return { items, total, limit, offset };
    },
  );

  app.post(
    '/',
    {
      config: { access: 'connectors:manage', audit: 'connector.create' },
      schema: {
        tags: TAGS,
        operationId: 'createConnector',
        summary: 'Create a connector and its live dataset',
        description:
          'Columns are given in `fields`, or inferred from a sample of a ThingSpeak or HTTP source. Secrets in `config` ' +
          '(apiKey, authHeader.value, password) are sealed at rest and never answered. A push connector answers its ' +
          'push key once.',
        body: CreateConnectorBody,
        response: { 201: CreatedConnectorSchema },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const created = await connectors.create(p.workspaceId, p.userId, request.body);
      noteAudit(request, { targetType: 'connector', targetId: created.connector.id });
      return reply.code(201).header('location', `/api/v1/connectors/${created.connector.id}`).send(created);
    },
  );

  app.post(
    '/test',
    {
      config: { access: 'connectors:manage' },
      schema: {
        tags: TAGS,
        operationId: 'testConnector',
        summary: 'Dry run: fetch a sample and infer its columns, storing nothing',
        body: TestConnectorBody,
        response: { 200: TestResultSchema },
      },
    },
    async (request) => connectors.test(request.body),
  );

  app.get(
    '/:id',
    {
      config: { access: 'connectors:read' },
      schema: {
        tags: TAGS,
        operationId: 'getConnector',
        summary: 'A connector with its health',
        params: ConnectorParams,
        response: { 200: ConnectorSchema },
      },
    },
    async (request) => connectors.get(principalOf(request).workspaceId, request.params.id),
  );

  app.patch(
    '/:id',
    {
      config: { access: 'connectors:manage', audit: 'connector.update' },
      schema: {
        tags: TAGS,
        operationId: 'updateConnector',
        summary: 'Rename a connector or change its schedule, safety or flush policy',
        params: ConnectorParams,
        body: UpdateConnectorBody,
        response: { 200: ConnectorSchema },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'connector', targetId: request.params.id });
      return connectors.update(principalOf(request).workspaceId, request.params.id, request.body);
    },
  );

  app.delete(
    '/:id',
    {
      config: { access: 'connectors:manage', audit: 'connector.delete' },
      schema: {
        tags: TAGS,
        operationId: 'deleteConnector',
        summary: 'Delete a connector, its history and its live dataset',
        params: ConnectorParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      noteAudit(request, { targetType: 'connector', targetId: request.params.id });
      await connectors.delete(principalOf(request).workspaceId, request.params.id, request.log);
      return reply.code(204).send(null);
    },
  );

  for (const action of ['pause', 'resume'] as const)
    app.post(
      `/:id/${action}`,
      {
        config: { access: 'connectors:manage', audit: `connector.${action}` },
        schema: {
          tags: TAGS,
          operationId: `${action}Connector`,
          summary: action === 'pause' ? 'Pause a connector' : 'Resume a paused connector',
          params: ConnectorParams,
          response: { 200: ConnectorSchema },
        },
      },
      async (request) => {
        noteAudit(request, { targetType: 'connector', targetId: request.params.id });
        const workspaceId = principalOf(request).workspaceId;
        return action === 'pause'
          ? connectors.pause(workspaceId, request.params.id)
          : connectors.resume(workspaceId, request.params.id);
      },
    );

  app.post(
    '/:id/sync',
    {
      config: { access: 'connectors:manage' },
      schema: {
        tags: TAGS,
        operationId: 'syncConnector',
        summary: 'Poll the source now and answer the sync',
        params: ConnectorParams,
        response: { 200: SyncSchema },
      },
    },
    async (request) => connectors.sync(principalOf(request).workspaceId, request.params.id),
  );

  app.post(
    '/:id/backfill',
    {
      config: { access: 'connectors:manage', audit: 'connector.backfill' },
      schema: {
        tags: TAGS,
        operationId: 'backfillConnector',
        summary: 'Fetch a past time range into the live dataset, as a job',
        params: ConnectorParams,
        body: BackfillBody,
        response: { 202: Type.Object({ job: JobSchema }) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const job = await connectors.backfill(p.workspaceId, p.userId, request.params.id, request.body);
      noteAudit(request, { targetType: 'connector', targetId: request.params.id, detail: { jobId: job.id } });
      return reply.code(202).send({ job });
    },
  );

  app.get(
    '/:id/syncs',
    {
      config: { access: 'connectors:read' },
      schema: {
        tags: TAGS,
        operationId: 'listConnectorSyncs',
        summary: 'Sync history, newest first: counts, errors, durations, cursors',
        params: ConnectorParams,
        querystring: SyncListQuery,
        response: { 200: SyncListResponse },
      },
    },
    async (request) =>
      connectors.syncs(principalOf(request).workspaceId, request.params.id, request.query.limit, request.query.offset),
  );

  app.get(
    '/:id/latest',
    {
      config: { access: 'connectors:read' },
      schema: {
        tags: TAGS,
        operationId: 'getConnectorLatest',
        summary: 'The last value received per field',
        params: ConnectorParams,
        response: { 200: LatestSchema },
      },
    },
    async (request) => connectors.latest(principalOf(request).workspaceId, request.params.id),
  );

  app.post(
    '/:id/push-key',
    {
      config: { access: 'connectors:manage', audit: 'connector.push_key' },
      schema: {
        tags: TAGS,
        operationId: 'rotateConnectorPushKey',
        summary: 'Issue a new push key (the old one stops working); it is shown once',
        params: ConnectorParams,
        response: { 200: PushKeyResponse },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'connector', targetId: request.params.id });
      return connectors.rotatePushKey(principalOf(request).workspaceId, request.params.id);
    },
  );

  // Device pushes carry their connector's push key, not a user's credentials; bodies arrive as text and are
  // parsed by the service, where a malformed line is a rejected record, not a failed request.
  await app.register(async (plain) => {
    const push = plain.withTypeProvider<TypeBoxTypeProvider>();
    push.removeAllContentTypeParsers();
    push.addContentTypeParser(
      [...PUSH_TYPES, 'application/x-www-form-urlencoded'],
      { parseAs: 'string', bodyLimit: maxBodyBytes },
      (_request, body, done) => done(null, body),
    );
    for (const path of ['/:id/records', '/:id/update'])
      push.post(
        path,
        {
          config: { access: 'public' },
          schema: {
            tags: TAGS,
            operationId: path.endsWith('records') ? 'pushConnectorRecords' : 'pushConnectorUpdate',
            summary: path.endsWith('records')
              ? 'Device push: a JSON array or NDJSON of records, answered once they are durable'
              : 'Device push in the ThingSpeak update shape (form fields field1…, created_at)',
            description: 'Authenticated by the connector push key: `Authorization: Bearer <key>` or `?api_key=`.',
            params: ConnectorParams,
            querystring: PushQuery,
            response: { 200: PushResponse },
          },
        },
        async (request) => {
          const key = bearerToken(request.headers.authorization) ?? request.query.api_key;
          return connectors.push(
            request.params.id,
            key,
            request.headers['content-type'],
            typeof request.body === 'string' ? request.body : '',
          );
        },
      );
  });
};
