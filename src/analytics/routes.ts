// PLACEHOLDER (owned by the analytics helper): replaced by the real module.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../context.js';

/** /api/v1/datasets/:id/{stats,histogram,value-counts,timeseries,query} */
export const analyticsRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async () => {};
/** /api/v1/system/stats */
export const platformStatsRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async () => {};
