import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { JobService } from './service.js';
import { principalOf } from '../http/access.js';

/**
 * TEST ONLY: POST /api/v1/jobs/test enqueues one of the `test.*` kinds (src/jobs/test-kinds.ts) in the caller's
 * workspace. Registered only with WEIR_TEST_JOB_KINDS=1, beside those kinds: the browser suite needs a job that
 * stays running as long as it likes (a `test.sleep`) to cancel from the dashboard, and no real kind can be made to
 * run long on purpose. The payload is checked against the kind's schema by JobService, as for every job.
 */
export const testJobRoutes: FastifyPluginAsyncTypebox<{ jobs: Pick<JobService, 'enqueue'> }> = async (
  app,
  { jobs },
) => {
  app.post(
    '/test',
    {
      config: { access: 'jobs:manage' },
      schema: {
        tags: ['jobs'],
        operationId: 'enqueueTestJob',
        summary: 'TEST ONLY (WEIR_TEST_JOB_KINDS=1): enqueue a test.* job',
        body: Type.Object(
          { kind: Type.String({ pattern: '^test\\.[a-z]+$' }), payload: Type.Unknown() },
          { additionalProperties: false },
        ),
        response: { 202: Type.Ref('Job') },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const job = await jobs.enqueue(request.body.kind, request.body.payload, {
        workspaceId: principal.workspaceId,
        createdBy: principal.userId,
      });
      return reply.code(202).send(job);
    },
  );
};
