import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore } from '../blobs/types.js';
import type { Log } from '../logger.js';
import { AnalyticsService, type AnalyticsDeps } from './service.js';
import { TimeseriesSummaries } from './summaries.js';

export { AnalyticsService } from './service.js';

/** Statistics, histograms, value counts, time series, aggregate queries and charts over dataset versions, and instance-wide statistics. */
export function createAnalytics(
  deps: Omit<AnalyticsDeps, 'summaries'> & { blobs: BlobStore; scratch: Scratch; log: Log },
): AnalyticsService {
  const { blobs, scratch, log, ...rest } = deps;
  return new AnalyticsService({
    ...rest,
    summaries: new TimeseriesSummaries({ blobs, engine: deps.engine, scratch, log }),
  });
}
