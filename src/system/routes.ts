import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../errors.js';
import type { AppContext } from '../context.js';
import { bearerMatches } from '../identity/secrets.js';

const CheckSchema = Type.Object({ ok: Type.Boolean(), ms: Type.Number(), error: Type.Optional(Type.String()) });

/** Health, readiness, metrics and system information. */
export const systemRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  app.get(
    '/health/live',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['system'],
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['system'],
        summary: 'Readiness: metadata DB, blob store and DuckDB (once opened: it opens on first use) all answer',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), CheckSchema) }),
        },
      },
    },
    async () => {
      const checks: Record<string, { ok: boolean; ms: number; error?: string }> = {};
      const probe = async (name: string, fn: () => Promise<void>) => {
        const start = performance.now();
        try {
          await withTimeout(fn(), 5000);
          checks[name] = { ok: true, ms: round(performance.now() - start) };
        } catch (e) {
          context.log.warn({ check: name, err: e }, 'readiness check failed');
          checks[name] = { ok: false, ms: round(performance.now() - start), error: 'check failed' };
        }
      };
      await Promise.all([
        probe('database', () => context.store.ping()),
        probe('blobs', () => context.blobs.ping()),
        probe('duckdb', () => context.engine.ping()),
        probe('queue', () => context.queue.driver.ping()),
      ]);
      const failing = Object.entries(checks)
        .filter(([, c]) => !c.ok)
        .map(([n]) => n);
      if (context.shuttingDown) failing.push('shutdown');
      if (failing.length > 0) throw errors.notReady(`Not ready: ${failing.join(', ')} failing`, failing);
      return { status: 'ready' as const, checks };
    },
  );

  // Public unless WEIR_METRICS_TOKEN is set; then a scraper sends it as a bearer token (Prometheus
  // `authorization.credentials`). Checked here rather than by the auth hook: it is not a user or a key.
  app.get(
    '/metrics',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const token = context.config.auth.metricsToken;
      if (token !== null && !bearerMatches(request.headers.authorization, token))
        throw errors.unauthorized('The metrics endpoint needs the configured metrics token');
      const body = await context.metrics.exposition();
      return reply.type(context.metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/api/v1/system/info',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['system'],
        summary: 'Version, mode, drivers and uptime',
        response: {
          200: Type.Object({
            name: Type.Literal('weir'),
            version: Type.String(),
            mode: Type.Union([Type.Literal('embedded'), Type.Literal('cluster')]),
            drivers: Type.Object({
              metadata: Type.String(),
              blobs: Type.String(),
              queue: Type.String(),
              events: Type.String(),
              engine: Type.String(),
            }),
            node: Type.String(),
            startedAt: Type.String({ format: 'date-time' }),
            uptimeSeconds: Type.Number(),
          }),
        },
      },
    },
    async () => ({
      name: 'weir' as const,
      version: context.version,
      mode: context.store.dialect === 'postgres' ? ('cluster' as const) : ('embedded' as const),
      drivers: {
        metadata: context.store.dialect,
        blobs: context.blobs.driver,
        queue: context.queue.driver.name,
        events: context.bus.driver,
        engine: `duckdb ${await context.engine.version()}`,
      },
      node: process.version,
      startedAt: context.startedAt.toISOString(),
      uptimeSeconds: round((Date.now() - context.startedAt.getTime()) / 1000),
    }),
  );
};

const round = (n: number) => Math.round(n * 1000) / 1000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}
