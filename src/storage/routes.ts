import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { StorageService } from './service.js';
import { noteAudit, principalOf } from '../http/access.js';
import { clientGone } from '../http/client-gone.js';
import { StatsQuery, StorageStatsResponse, SweepBody, SweepJob, SweepParams, SweepQuery } from './schemas.js';

/** How long `POST /system/storage/sweep?wait=true` waits before answering 202 anyway. */
const WAIT_BOUND_MS = 60_000;

/** /api/v1/system/storage: statistics, retention policy, and storage sweeps (instance administrators only). */
export const storageRoutes: FastifyPluginAsyncTypebox<{ storage: StorageService }> = async (app, { storage }) => {
  app.get(
    '/',
    {
      config: { access: 'system:admin' },
      schema: {
        tags: ['storage'],
        operationId: 'getStorageUsage',
        summary: 'Storage use per area and workspace, free disk, retention policy, last sweep',
        querystring: StatsQuery,
        response: { 200: StorageStatsResponse },
      },
    },
    async (request) => storage.stats(request.query.fresh),
  );

  app.post(
    '/sweep',
    {
      config: { access: 'system:admin', audit: 'storage.sweep' },
      schema: {
        tags: ['storage'],
        operationId: 'startStorageSweep',
        summary: 'Start a storage sweep',
        description:
          'Enqueues a storage.sweep job and answers 202 with it (follow it at GET /api/v1/system/storage/sweeps/{id}). ' +
          'With ?wait=true the answer comes when it has finished (200, its result in `result`), or after 60 s (202).',
        querystring: SweepQuery,
        body: SweepBody,
        response: { 200: SweepJob, 202: SweepJob },
      },
      // The body is optional (`curl -X POST …/sweep`): none means `{}`.
      preValidation: (request, _reply, done) => {
        request.body ??= { dryRun: false };
        done();
      },
    },
    async (request, reply) => {
      const job = await storage.startSweep(request.body.dryRun, principalOf(request).userId);
      noteAudit(request, { targetType: 'job', targetId: job.id, detail: { dryRun: request.body.dryRun } });
      reply.header('location', `/api/v1/system/storage/sweeps/${job.id}`);
      if (!request.query.wait) return reply.code(202).send(job);
      // The client hung up: stop waiting (the sweep itself goes on).
      const now = await storage.waitForSweep(job.id, WAIT_BOUND_MS, clientGone(reply));
      return reply.code(now.finishedAt ? 200 : 202).send(now);
    },
  );

  app.get(
    '/sweeps/:id',
    {
      config: { access: 'system:admin' },
      schema: {
        tags: ['storage'],
        operationId: 'getStorageSweep',
        summary: 'A storage sweep: its job, progress and result',
        params: SweepParams,
        response: { 200: SweepJob },
      },
    },
    async (request) => storage.sweepJob(request.params.id),
  );
};
