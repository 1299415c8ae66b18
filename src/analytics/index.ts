import { AnalyticsService, type AnalyticsDeps } from './service.js';

export { AnalyticsService } from './service.js';

/** Statistics, histograms, value counts, time series, aggregate queries and charts over dataset versions, and instance-wide statistics. */
export function createAnalytics(deps: AnalyticsDeps): AnalyticsService {
  return new AnalyticsService(deps);
}
