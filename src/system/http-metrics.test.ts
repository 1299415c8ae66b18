import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HTTP_DURATION_BUCKETS, HttpMetrics } from './http-metrics.js';

const OBSERVATIONS: [method: string, route: string, status: number, seconds: number][] = [
  ['GET', '/health/live', 200, 0.0004],
  ['GET', '/api/v1/datasets', 200, 0.003],
  ['GET', '/health/live', 200, 0.001],
  ['GET', '/health/live', 503, 0.2],
  ['POST', '/api/v1/datasets', 201, 75],
  ['GET', '/api/v1/datasets', 401, 0.05],
  ['DELETE', 'unmatched', 404, 0.0123],
];

/** The same two metrics as prom-client's own classes, fed the same observations. */
async function promClientExposition(): Promise<{ text: string; json: unknown }> {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status_code'] as const;
  const counter = new Counter({
    name: 'weir_http_requests_total',
    help: 'HTTP requests answered, by route template and status code.',
    labelNames,
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'weir_http_request_duration_seconds',
    help: 'Time from receiving a request to sending the response, in seconds.',
    labelNames,
    buckets: [...HTTP_DURATION_BUCKETS],
    registers: [registry],
  });
  for (const [method, route, status, seconds] of OBSERVATIONS) {
    const labels = { method, route, status_code: String(status) };
    counter.inc(labels);
    histogram.observe(labels, seconds);
  }
  return { text: await registry.metrics(), json: await registry.getMetricsAsJSON() };
}

function observed(): { registry: Registry; http: HttpMetrics } {
  const registry = new Registry();
  const http = new HttpMetrics(registry);
  for (const [method, route, status, seconds] of OBSERVATIONS) http.route(method, route).observe(status, seconds);
  return { registry, http };
}

describe('HttpMetrics', () => {
  it("exposes exactly what prom-client's Counter and Histogram expose for the same requests", async () => {
    const { registry } = observed();
    const expected = await promClientExposition();
    expect(await registry.metrics()).toBe(expected.text);
    expect(await registry.getMetricsAsJSON()).toEqual(expected.json);
  });

  it("aggregates with a worker's metrics as prom-client's classes do", async () => {
    const { registry } = observed();
    const expected = await promClientExposition();
    const ours = AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), await registry.getMetricsAsJSON()]);
    const theirs = AggregatorRegistry.aggregate([expected.json as never, expected.json as never]);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('hands a route the same counter each time and counts through it after a reset', async () => {
    const { registry, http } = observed();
    const route = http.route('GET', '/health/live');
    expect(http.route('GET', '/health/live')).toBe(route);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('route="/health/live"');
    route.observe(200, 0.002);
    const text = await registry.metrics();
    expect(text).toContain('weir_http_requests_total{method="GET",route="/health/live",status_code="200"} 1');
    expect(text).toContain(
      'weir_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health/live",status_code="200"} 1',
    );
    expect(text).toContain(
      'weir_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/health/live",status_code="200"} 0',
    );
  });
});
