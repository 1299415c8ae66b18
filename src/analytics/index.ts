// PLACEHOLDER (owned by the analytics helper): replaced by the real module.
export class AnalyticsService {}
export function createAnalytics(_deps: unknown): AnalyticsService {
  return new AnalyticsService();
}
