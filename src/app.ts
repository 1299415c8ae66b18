import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyServerOptions,
  type FastifyInstance,
} from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from './context.js';
import { datasetRoutes } from './datasets/routes.js';
import { jobRoutes } from './jobs/routes.js';
import { registerErrorHandling } from './http/errors.js';
import type { DatasetUses, RouteAccess } from './http/access.js';
import { datasetIdFields } from './http/dataset-fields.js';
import { registerApiDocs } from './http/api-docs.js';
import { findWebApp, registerWebApp } from './http/web-app.js';
import { registerAuth } from './http/auth.js';
import { capConnectionsPerAddress } from './http/connection-cap.js';
import { registerBodyDeadlines, serverTimeouts } from './http/slow-clients.js';
import { setSecurityHeaders } from './http/security-headers.js';
import { identityRoutes } from './identity/routes.js';
import { auditRoutes } from './system/audit-routes.js';
import { ProblemSchema, problemResponses } from './http/problem.js';
import { requestIdFrom } from './http/request-id.js';
import { requestLog } from './http/request-log.js';
import { jobEventRoutes } from './realtime/sse.js';
import { websocketRoutes } from './realtime/ws-routes.js';
import { schemaController } from './http/validation.js';
import type { RouteRequests } from './system/http-metrics.js';
import { systemRoutes } from './system/routes.js';
import { storageRoutes } from './storage/routes.js';
import { TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS } from './uploads/protocol.js';
import { uploadRoutes } from './uploads/routes.js';
import { lineageRoutes, pipelineRoutes } from './pipelines/routes.js';
import { analyticsRoutes, platformStatsRoutes } from './analytics/routes.js';
import { modelRoutes } from './models/routes.js';
import { connectorRoutes } from './connectors/routes.js';

export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess;
  /** Mutating routes write an audit row per request unless they say `audit: false` (tus PATCH). */
  audited: boolean;
  /** What the route does to each dataset its request names (`config.datasets`); the route walk exercises the writes. */
  datasets: DatasetUses;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Set by buildApp for every route of one method: where its requests are counted, so that a request does not
     * look its series up by name.
     */
    requests?: RouteRequests;
  }
  interface FastifyInstance {
    /** Every registered route with its declared access: what the route-walk test covers. */
    routeCatalog: RouteEntry[];
  }
}

/** A hop count as proxy-addr reads it: trust the nearest `n` proxies (Fastify's types omit the number form). */
function trustHops(n: number) {
  return (_address: string, hop: number) => hop < n;
}

/** Tokens in query strings (SSE, WebSocket) never reach the logs. */
function redactUrl(url: string): string {
  return url.includes('access_token=') ? url.replace(/access_token=[^&]*/g, 'access_token=[redacted]') : url;
}

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Levels at which the per-request `info` line is written. */
const LOGS_INFO = new Set(['info', 'debug', 'trace']);

/** Builds the Fastify app over a context, without listening: tests and `weir serve` share it. */
export async function buildApp(context: AppContext): Promise<FastifyInstance> {
  const { config } = context;
  const app = Fastify({
    loggerInstance: context.log as FastifyBaseLogger,
    // One log line per request, written by the onResponse hook below (Fastify's default is two).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    // request.log makes its pino child only when the request writes a line (src/http/request-log.ts).
    childLoggerFactory: requestLog as unknown as NonNullable<FastifyServerOptions['childLoggerFactory']>,
    genReqId: requestIdFrom,
    bodyLimit: config.maxBodyBytes,
    // Whether X-Forwarded-For is believed, and from whom (WEIR_TRUST_PROXY); request.ip follows it.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    return503OnClosing: true,
    // A route registered as '/' under a prefix answers at `/api/v1/datasets` alone (one documented path, not a
    // `/api/v1/datasets/` twin), and every path answers with or without a trailing slash, as clients that wrote
    // `/api/v1/datasets/` before rely on.
    routerOptions: { ignoreTrailingSlash: true },
    schemaController: schemaController(),
    // Headers, keep-alive and (not) Node's whole-request timeout; bodies are bounded per route below.
    ...serverTimeouts(config.http),
  }).withTypeProvider<TypeBoxTypeProvider>();
  if (config.http.maxConnectionsPerAddress !== null)
    capConnectionsPerAddress(app.server, config.http.maxConnectionsPerAddress, config.trustProxy, context.log);

  app.addSchema(ProblemSchema);
  // Every route documents what it answers and declares who may call it (src/http/access.ts); CORS preflight and
  // the interactive docs' static files excepted. The catalog lets the access tests walk every route.
  const catalog: RouteEntry[] = [];
  app.decorate('routeCatalog', catalog);
  // A mutating route whose request names a dataset (a `ds_…` id in its schema) must also say what it does to it
  // (`config.datasets`, src/http/access.ts): schemas are read in the plugin that registers the route (`this`).
  app.addHook('onRoute', function (route) {
    const methods = [route.method].flat();
    if (methods.length === 1)
      route.config = { ...route.config, requests: context.metrics.http.route(methods[0]!, route.url) };
    if (route.method === 'OPTIONS' || route.url.startsWith('/docs')) return;
    // The dashboard's static files (src/http/web-app.ts) are not API operations.
    if ((route.config as { webApp?: unknown } | undefined)?.webApp === true) return;
    const schema = route.schema as { response?: unknown; hide?: boolean; operationId?: string } | undefined;
    if (!schema?.response) throw new Error(`route ${String(route.method)} ${route.url} has no response schema`);
    const access = (route.config as { access?: RouteAccess } | undefined)?.access;
    if (!access) throw new Error(`route ${String(route.method)} ${route.url} declares no config.access`);
    // Generated clients (the dashboard's) name their calls after it: a documented route names itself, beside it.
    if (!schema.hide && !schema.operationId)
      throw new Error(`route ${String(route.method)} ${route.url} has no schema.operationId`);
    const audited = (route.config as { audit?: unknown } | undefined)?.audit !== false;
    const datasets = (route.config as { datasets?: DatasetUses } | undefined)?.datasets ?? {};
    if ([route.method].flat().some((m) => MUTATING_METHODS.has(m))) {
      const undeclared = datasetIdFields(route.schema, (id) => this.getSchema(id)).filter(
        (pointer) => !Object.hasOwn(datasets, pointer),
      );
      if (undeclared.length > 0)
        throw new Error(
          `route ${String(route.method)} ${route.url} names a dataset at ${undeclared.join(', ')} but declares no config.datasets entry for it`,
        );
    }
    for (const method of [route.method].flat())
      if (method !== 'HEAD') catalog.push({ method, url: route.url, access, audited, datasets });
  });
  // Navigations to the dashboard's client routes get its index.html instead of a 404 (registered last, below).
  let webAppFallback: ReturnType<typeof registerWebApp> = () => false;
  registerErrorHandling(app, (request, reply) => webAppFallback(request, reply));
  // First of the onRequest hooks: a request refused early (401, 429) may still be sent its body slowly.
  registerBodyDeadlines(app, config.http);

  // Callback-style hooks: they run on every request, and async hooks cost a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    setSecurityHeaders(reply, config, request.url);
    done();
  });
  registerAuth(app, {
    identity: context.identity,
    audit: context.audit,
    limits: context.requestLimits,
    globalRules: context.globalNetworkRules,
    workspaceRules: context.workspaceNetworkRules,
    disabled: config.auth.insecureDisabled,
  });
  // The request log line and the HTTP metrics.
  app.addHook('onResponse', (request, reply, done) => {
    // routeOptions is a getter that builds a new object each time: read once.
    const routeConfig = request.routeOptions.config;
    const route = routeConfig.url ?? 'unmatched';
    (routeConfig.requests ?? context.metrics.http.route(request.method, route)).observe(
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    // Checked first: building the line (and redacting the URL) costs even when the level drops it.
    if (LOGS_INFO.has(request.log.level))
      request.log.info(
        {
          method: request.method,
          url: redactUrl(request.url),
          route,
          statusCode: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request completed',
      );
    done();
  });

  // Without configured origins there is no cross-origin access at all, and no CORS work per request.
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      exposedHeaders: ['x-request-id', 'content-disposition', ...TUS_RESPONSE_HEADERS],
      // Browsers ask before sending tus's own headers (a preflight names them).
      allowedHeaders: ['authorization', 'content-type', 'x-weir-workspace', 'x-request-id', ...TUS_REQUEST_HEADERS],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      maxAge: 600,
    });
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Weir API',
        version: context.version,
        description:
          'Ingest, validate, store, profile and serve datasets. Errors are RFC 9457 application/problem+json.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // Relative: the API is served from wherever Weir runs, and the paths carry their own /api/v1 prefix.
      servers: [{ url: '/', description: 'This Weir server' }],
      tags: [
        { name: 'system', description: 'Health, readiness, metrics, system information' },
        { name: 'datasets', description: 'Datasets and their immutable versions' },
        {
          name: 'pipelines',
          description:
            'Pipelines of typed steps: definitions, previews, saved pipelines with versions and templates, runs, lineage',
        },
        {
          name: 'analytics',
          description:
            'Statistics, histograms, value counts, time series and queries over a dataset, as JSON, Vega-Lite or SVG',
        },
        {
          name: 'connectors',
          description:
            'Connectors that pull (ThingSpeak, HTTP JSON), subscribe (MQTT) or receive (device push) records into live datasets',
        },
        {
          name: 'models',
          description:
            'Models trained as jobs on dataset versions: registry, versions, compare, promote, predict, forecast',
        },
        { name: 'uploads', description: 'Resumable uploads (tus 1.0.0) that become dataset versions' },
        {
          name: 'jobs',
          description: 'Background jobs (ingest, retention, …): status, progress, cancel, retry, statistics',
        },
        { name: 'auth', description: 'Login, token refresh, logout, who am I, the permission matrix' },
        { name: 'workspaces', description: 'Workspaces, members and roles, network rules' },
        { name: 'keys', description: 'API keys of a workspace' },
        { name: 'users', description: 'Instance administration' },
        { name: 'audit', description: 'The audit log' },
        { name: 'storage', description: 'Storage use, retention policy and sweeps (instance administrators)' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT access token or weir_… API key',
            description:
              "Select a workspace with the x-weir-workspace header (default: your first workspace; an API key's own).",
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    // Multipart routes describe their body for the document only: the body is streamed, not validated by Ajv.
    transform: ({ schema, url, route }) => {
      const docBody = (route.config as { openapiBody?: unknown } | undefined)?.openapiBody;
      const access = (route.config as { access?: RouteAccess } | undefined)?.access;
      const documented = {
        ...schema,
        response: { ...(schema?.response as object), ...problemResponses },
        // Public routes say so (`security: []`) rather than leaving a generated client to guess.
        ...(access === 'public' ? { security: [] } : {}),
        ...(access && access !== 'public'
          ? {
              security: [{ bearer: [] }],
              'x-weir-permission': access,
              description: [
                schema?.description,
                access === 'authenticated'
                  ? 'Requires: any authenticated caller.'
                  : `Requires permission \`${access}\`.`,
              ]
                .filter(Boolean)
                .join('\n\n'),
            }
          : {}),
      };
      return { schema: docBody ? { ...documented, body: docBody } : documented, url } as never;
    },
  });
  registerApiDocs(app, () => app.swagger());
  app.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: { hide: true, response: { 200: Type.Object({}, { additionalProperties: true }) } },
    },
    async () => app.swagger(),
  );

  // Each route plugin is handed the services it uses, no more: its options type lists its dependencies.
  const { metrics, realtime, bus } = context;
  await app.register(systemRoutes, {
    config,
    log: context.log,
    version: context.version,
    startedAt: context.startedAt,
    store: context.store,
    blobs: context.blobs,
    engine: context.engine,
    queue: context.queue.driver,
    bus,
    metrics,
    shuttingDown: () => context.shuttingDown,
  });
  await app.register(identityRoutes, { config, identity: context.identity, invitations: context.invitations });
  await app.register(auditRoutes, { audit: context.audit });
  await app.register(storageRoutes, { storage: context.storage, prefix: '/api/v1/system/storage' });
  await app.register(datasetRoutes, {
    config,
    datasets: context.datasets,
    ingests: context.ingests,
    jobs: context.jobs,
    metrics,
    scratch: context.scratch,
    prefix: '/api/v1/datasets',
  });
  await app.register(lineageRoutes, {
    pipelines: context.pipelines,
    models: context.models,
    prefix: '/api/v1/datasets',
  });
  await app.register(analyticsRoutes, { analytics: context.analytics, prefix: '/api/v1/datasets' });
  await app.register(platformStatsRoutes, { analytics: context.analytics, prefix: '/api/v1/system/stats' });
  await app.register(pipelineRoutes, { pipelines: context.pipelines, prefix: '/api/v1/pipelines' });
  await app.register(modelRoutes, { models: context.models, prefix: '/api/v1/models' });
  await app.register(connectorRoutes, {
    connectors: context.connectors,
    maxBodyBytes: config.maxBodyBytes,
    prefix: '/api/v1/connectors',
  });
  await app.register(uploadRoutes, { config, uploads: context.uploads, prefix: '/api/v1/uploads' });
  await app.register(jobRoutes, {
    jobs: context.jobs,
    testKinds: config.testJobKinds,
    prefix: '/api/v1/jobs',
  });
  await app.register(websocketRoutes, { config, access: context.identity, metrics, realtime, prefix: '/api/v1' });
  await app.register(jobEventRoutes, {
    config,
    access: context.identity,
    bus,
    jobs: context.jobs,
    metrics,
    realtime,
    prefix: '/api/v1/jobs',
  });

  webAppFallback = registerWebApp(app, findWebApp(config.webDir));

  app.addHook('onClose', async () => {
    await context.close();
  });
  return app;
}
