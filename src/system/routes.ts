import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../errors.js';
import type { BlobStore } from '../blobs/types.js';
import type { EventBus } from '../bus/types.js';
import type { Config } from '../config.js';
import type { MetadataStore } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import type { QueueDriver } from '../jobs/drivers/types.js';
import type { Log } from '../logger.js';
import type { Metrics } from './metrics.js';
import { bearerMatches } from '../identity/secrets.js';

const CheckSchema = Type.Object({ ok: Type.Boolean(), ms: Type.Number(), error: Type.Optional(Type.String()) });

/** Health, readiness, metrics and system information. */
export interface SystemRouteOptions {
  config: Pick<Config, 'auth'>;
  log: Log;
  version: string;
  startedAt: Date;
  /** What readiness probes and system information names. */
  store: Pick<MetadataStore, 'ping' | 'dialect'>;
  blobs: Pick<BlobStore, 'ping' | 'driver'>;
  engine: Pick<Engine, 'ping' | 'version'>;
  queue: Pick<QueueDriver, 'ping' | 'name'>;
  bus: Pick<EventBus, 'driver'>;
  metrics: Pick<Metrics, 'exposition' | 'registry'>;
  /** True once shutdown began: readiness answers 503. */
  shuttingDown(): boolean;
}

export const systemRoutes: FastifyPluginAsyncTypebox<SystemRouteOptions> = async (app, o) => {
  app.get(
    '/health/live',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['system'],
        operationId: 'getLiveness',
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
        operationId: 'getReadiness',
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
          o.log.warn({ check: name, err: e }, 'readiness check failed');
          checks[name] = { ok: false, ms: round(performance.now() - start), error: 'check failed' };
        }
      };
      await Promise.all([
        probe('database', () => o.store.ping()),
        probe('blobs', () => o.blobs.ping()),
        probe('duckdb', () => o.engine.ping()),
        probe('queue', () => o.queue.ping()),
      ]);
      const failing = Object.entries(checks)
        .filter(([, c]) => !c.ok)
        .map(([n]) => n);
      if (o.shuttingDown()) failing.push('shutdown');
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
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const token = o.config.auth.metricsToken;
      if (token !== null && !bearerMatches(request.headers.authorization, token))
        throw errors.unauthorized('The metrics endpoint needs the configured metrics token');
      const body = await o.metrics.exposition();
      return reply.type(o.metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/api/v1/system/info',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['system'],
        operationId: 'getSystemInfo',
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
      version: o.version,
      mode: o.store.dialect === 'postgres' ? ('cluster' as const) : ('embedded' as const),
      drivers: {
        metadata: o.store.dialect,
        blobs: o.blobs.driver,
        queue: o.queue.name,
        events: o.bus.driver,
        engine: `duckdb ${await o.engine.version()}`,
      },
      node: process.version,
      startedAt: o.startedAt.toISOString(),
      uptimeSeconds: round((Date.now() - o.startedAt.getTime()) / 1000),
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
