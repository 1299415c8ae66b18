import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from './context.js';
import { datasetRoutes } from './datasets/routes.js';
import { registerErrorHandling } from './http/errors.js';
import { ProblemSchema, problemResponses } from './http/problem.js';
import { requestIdFrom } from './http/request-id.js';
import { schemaController } from './http/validation.js';
import { systemRoutes } from './system/routes.js';

/** Builds the Fastify app over a context, without listening: tests and `weir serve` share it. */
export async function buildApp(context: AppContext): Promise<FastifyInstance> {
  const { config } = context;
  const app = Fastify({
    loggerInstance: context.log as FastifyBaseLogger,
    // One log line per request, written by the onResponse hook below (Fastify's default is two).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdFrom,
    bodyLimit: config.maxBodyBytes,
    trustProxy: false,
    return503OnClosing: true,
    schemaController: schemaController(),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ProblemSchema);
  // Every route documents what it answers; CORS preflight and the interactive docs' static files excepted.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { response?: unknown } | undefined;
    if (!schema?.response && route.method !== 'OPTIONS' && !route.url.startsWith('/docs')) throw new Error(`route ${String(route.method)} ${route.url} has no response schema`);
  });
  registerErrorHandling(app);

  // Callback-style hooks: they run on every request, and async hooks cost a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // The request log line and the HTTP metrics.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    context.metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    request.log.info({ method: request.method, url: request.url, route, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request completed');
    done();
  });

  // Without configured origins there is no cross-origin access at all, and no CORS work per request.
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      exposedHeaders: ['x-request-id', 'content-disposition'],
      maxAge: 600,
    });
  }
  await app.register(multipart, {
    limits: { fileSize: config.maxUploadBytes, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 21, headerPairs: 100 },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Weir API', version: context.version, description: 'Ingest, validate, store, profile and serve datasets. Errors are RFC 9457 application/problem+json.' },
      tags: [
        { name: 'system', description: 'Health, readiness, metrics, system information' },
        { name: 'datasets', description: 'Datasets and their immutable versions' },
      ],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // Multipart routes describe their body for the document only: the body is streamed, not validated by Ajv.
    transform: ({ schema, url, route }) => {
      const docBody = (route.config as { openapiBody?: unknown } | undefined)?.openapiBody;
      const documented = { ...schema, response: { ...(schema?.response as object), ...problemResponses } };
      return { schema: docBody ? { ...documented, body: docBody } : documented, url } as never;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true, response: { 200: Type.Object({}, { additionalProperties: true }) } } }, async () => app.swagger());

  await app.register(systemRoutes, { context });
  await app.register(datasetRoutes, { context, prefix: '/api/v1/datasets' });

  app.addHook('onClose', async () => {
    await context.close();
  });
  return app;
}
