// PLACEHOLDER (owned by the pipelines-service helper): replaced by the real module.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../context.js';

/** /api/v1/pipelines */
export const pipelineRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async () => {};
/** /api/v1/datasets/:id/lineage */
export const lineageRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async () => {};
