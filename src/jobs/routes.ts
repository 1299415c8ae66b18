import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { JobService } from './service.js';
import { principalOf } from '../http/access.js';
import { testJobRoutes } from './test-routes.js';
import {
  JobListQuery,
  JobListResponse,
  JobParams,
  JobSchema,
  RetriedJobSchema,
  StatsQuery,
  StatsResponse,
} from './schemas.js';

/** /api/v1/jobs: thin routes over JobService, always scoped to the caller's workspace. */
export const jobRoutes: FastifyPluginAsyncTypebox<{ jobs: JobService; testKinds?: boolean }> = async (
  app,
  { jobs, testKinds },
) => {
  app.addSchema(JobSchema);
  // With WEIR_TEST_JOB_KINDS only: a way to enqueue the test kinds over HTTP (the browser suite's long job).
  if (testKinds) await app.register(testJobRoutes, { jobs });

  app.get(
    '/',
    {
      config: { access: 'jobs:read' },
      schema: {
        tags: ['jobs'],
        operationId: 'listJobs',
        summary: 'List jobs, newest first',
        querystring: JobListQuery,
        response: { 200: JobListResponse },
      },
    },
    async (request) => {
      const q = request.query;
      const { items, total } = await jobs.list({ ...q, workspaceId: principalOf(request).workspaceId });
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/stats',
    {
      config: { access: 'jobs:read' },
      schema: {
        tags: ['jobs'],
        operationId: 'getJobStats',
        summary: 'Job statistics of the last N days',
        description:
          'Counts by status and kind of the jobs created in the window, success rate, run-time percentiles, and a zero-filled daily series (UTC days).',
        querystring: StatsQuery,
        response: { 200: StatsResponse },
      },
    },
    async (request) => jobs.stats(principalOf(request).workspaceId, request.query.days),
  );

  app.get(
    '/:id',
    {
      config: { access: 'jobs:read' },
      schema: {
        tags: ['jobs'],
        operationId: 'getJob',
        summary: 'Get a job',
        params: JobParams,
        response: { 200: Type.Ref('Job') },
      },
    },
    async (request) => jobs.get(principalOf(request).workspaceId, request.params.id),
  );

  app.post(
    '/:id/cancel',
    {
      config: { access: 'jobs:manage' },
      schema: {
        tags: ['jobs'],
        operationId: 'cancelJob',
        summary: 'Cancel a job',
        description:
          'A queued job is cancelled at once; a running one is flagged (cancelRequested) and its attempt aborted, and ends `cancelled` shortly. 409 `job_not_cancellable` once finished.',
        params: JobParams,
        response: { 200: Type.Ref('Job') },
      },
    },
    async (request) => jobs.cancel(principalOf(request).workspaceId, request.params.id),
  );

  app.post(
    '/:id/retry',
    {
      config: { access: 'jobs:manage' },
      schema: {
        tags: ['jobs'],
        operationId: 'retryJob',
        summary: 'Run a failed or cancelled job again',
        description:
          'Queues the job again with its attempts reset, and answers how it ended before (`previousError`). 409 `job_not_retryable` unless it failed or was cancelled.',
        params: JobParams,
        response: { 200: RetriedJobSchema },
      },
    },
    async (request) => jobs.retry(principalOf(request).workspaceId, request.params.id),
  );
};
