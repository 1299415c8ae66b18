import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Response headers of the inner app that the outer one sets itself, or that describe the inner connection. */
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/**
 * The interactive API documentation at `/docs`, loaded on its first request. `@fastify/swagger-ui` costs about
 * 150 ms of start-up CPU when it is registered (it loads `yaml`, `@fastify/static` and `glob`), for pages few
 * requests ever ask for. Its routes therefore live in an app of their own, built on the first request under `/docs`
 * and handed each such request by `inject`: the pages, assets and redirects are the plugin's own, and the security
 * headers (a CSP that lets the docs run their scripts) are still set by this app's hooks.
 */
export function registerApiDocs(app: FastifyInstance, spec: () => unknown): void {
  let docs: Promise<FastifyInstance> | undefined;
  const load = () =>
    (docs ??= buildDocsApp(spec).catch((e: unknown) => {
      docs = undefined;
      throw e;
    }));
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const res = await (
      await load()
    ).inject({
      method: request.method as 'GET' | 'HEAD',
      url: request.url,
      headers: request.headers,
    });
    // Unknown pages get this app's own 404 (problem+json), as every other unknown path does.
    if (res.statusCode === 404) return reply.callNotFound();
    for (const [name, value] of Object.entries(res.headers))
      if (value !== undefined && !HOP_HEADERS.has(name)) reply.header(name, value);
    // A redirect or a 304 has no body, and must not be given a content type for one.
    return reply.code(res.statusCode).send(res.rawPayload.length > 0 ? res.rawPayload : undefined);
  };
  // `hide`: not part of the OpenAPI document; no response schema or access rule: public static pages (app.ts).
  app.get('/docs', { schema: { hide: true } }, forward);
  app.get('/docs/*', { schema: { hide: true } }, forward);
  app.addHook('onClose', async () => {
    if (docs) await (await docs.catch(() => null))?.close();
  });
}

async function buildDocsApp(spec: () => unknown): Promise<FastifyInstance> {
  const [{ default: Fastify }, { default: fastifyPlugin }, { default: swaggerUi }] = await Promise.all([
    import('fastify'),
    import('fastify-plugin'),
    import('@fastify/swagger-ui'),
  ]);
  const docs = Fastify({ logger: false });
  // swagger-ui depends on the plugin that decorates `swagger()`: here, the outer app's document.
  await docs.register(
    fastifyPlugin(async (instance) => void instance.decorate('swagger', spec as never), { name: '@fastify/swagger' }),
  );
  await docs.register(swaggerUi, { routePrefix: '/docs' });
  await docs.ready();
  return docs;
}
