import type { Registry } from 'prom-client';

/**
 * weir_http_requests_total and weir_http_request_duration_seconds, kept out of prom-client's per-call path: its
 * Counter.inc and Histogram.observe build, validate and hash a label object on every call, 1.2–2.7 µs a request
 * (measured on the 2-core bench machine), against 25–35 µs of main-thread CPU for a whole `/health/live` request.
 * Here a route resolves its series once (per status code, the first time it answers with it) and a request adds to
 * plain numbers.
 *
 * The registry reads both metrics through the contract it uses for its own (`name`, `get()`, `reset()`), in the
 * shape prom-client's Counter and Histogram give it, so the exposition and the worker aggregation are unchanged
 * (http-metrics.test.ts compares them with prom-client's own).
 */

const REQUESTS = {
  name: 'weir_http_requests_total',
  help: 'HTTP requests answered, by route template and status code.',
} as const;
const DURATION = {
  name: 'weir_http_request_duration_seconds',
  help: 'Time from receiving a request to sending the response, in seconds.',
} as const;
/** Upper bounds of the duration buckets, in seconds. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

type Labels = { method: string; route: string; status_code: string };

/** What prom-client's Counter.get() and Histogram.get() answer, and its registry formats and aggregates. */
interface ExportedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: { value: number; labels: Record<string, string | number>; metricName?: string; exemplar?: null }[];
}

interface Series {
  readonly labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket, not cumulative (the exposition accumulates); slower than the last bound: none. */
  readonly buckets: Float64Array;
}

/** The requests of one route and method: where a request is counted, once the route's hook holds it. */
export class RouteRequests {
  private readonly byStatus = new Map<number, Series>();

  constructor(
    private readonly owner: HttpMetrics,
    readonly method: string,
    readonly route: string,
  ) {}

  observe(statusCode: number, seconds: number): void {
    let series = this.byStatus.get(statusCode);
    if (series === undefined) {
      series = this.owner.series(this.method, this.route, statusCode);
      this.byStatus.set(statusCode, series);
    }
    series.count += 1;
    series.sum += seconds;
    for (let i = 0; i < HTTP_DURATION_BUCKETS.length; i++)
      if (seconds <= HTTP_DURATION_BUCKETS[i]!) {
        series.buckets[i]! += 1;
        return;
      }
  }

  /** After a reset: series are looked up again. */
  forget(): void {
    this.byStatus.clear();
  }
}

export class HttpMetrics {
  /** In order of first observation, as prom-client lists series. */
  private readonly all = new Map<string, Series>();
  private readonly routes = new Map<string, RouteRequests>();

  constructor(registry: Registry) {
    const counter = {
      name: REQUESTS.name,
      get: () => this.requestsJson(),
      reset: () => this.reset(),
    };
    const histogram = {
      name: DURATION.name,
      get: () => this.durationJson(),
      reset: () => this.reset(),
    };
    // The registry keeps any object with a name, get() and reset(); its types name only prom-client's classes.
    registry.registerMetric(counter as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The counter of a route and method; the same object for the same pair. */
  route(method: string, route: string): RouteRequests {
    const key = `${method} ${route}`;
    let r = this.routes.get(key);
    if (r === undefined) {
      r = new RouteRequests(this, method, route);
      this.routes.set(key, r);
    }
    return r;
  }

  /** @internal the series of one label set, created on first use. */
  series(method: string, route: string, statusCode: number): Series {
    const status = String(statusCode);
    const key = `${method} ${route} ${status}`;
    let s = this.all.get(key);
    if (s === undefined) {
      s = {
        labels: { method, route, status_code: status },
        count: 0,
        sum: 0,
        buckets: new Float64Array(HTTP_DURATION_BUCKETS.length),
      };
      this.all.set(key, s);
    }
    return s;
  }

  private reset(): void {
    this.all.clear();
    for (const r of this.routes.values()) r.forget();
  }

  private requestsJson(): ExportedMetric {
    return {
      name: REQUESTS.name,
      help: REQUESTS.help,
      type: 'counter',
      aggregator: 'sum',
      values: [...this.all.values()].map((s) => ({ value: s.count, labels: { ...s.labels } })),
    };
  }

  private durationJson(): ExportedMetric {
    const values: ExportedMetric['values'] = [];
    const bucketName = `${DURATION.name}_bucket`;
    for (const s of this.all.values()) {
      let cumulative = 0;
      HTTP_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ value: cumulative, metricName: bucketName, exemplar: null, labels: { le, ...s.labels } });
      });
      values.push({ value: s.count, metricName: bucketName, exemplar: null, labels: { le: '+Inf', ...s.labels } });
      values.push({ value: s.sum, metricName: `${DURATION.name}_sum`, labels: { ...s.labels } });
      values.push({ value: s.count, metricName: `${DURATION.name}_count`, labels: { ...s.labels } });
    }
    return { name: DURATION.name, help: DURATION.help, type: 'histogram', aggregator: 'sum', values };
  }
}
