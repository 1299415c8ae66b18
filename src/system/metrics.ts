import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import type { WorkerSupervisor } from '../jobs/supervisor.js';
import { HttpMetrics } from './http-metrics.js';

/** How one dataset ingest ended, as the ingest metrics count it. */
export type IngestEnd =
  /**
   * With a version: newly stored (timed from `startedMs`, a performance.now() reading), or a duplicate of bytes
   * already stored (nothing was converted, so it is not timed).
   */
  | { format: string; duplicate: boolean; startedMs: number | null }
  /** Without one, before a format was settled: refused by validation (`rejected`) or broken (`failed`). */
  | { refused: boolean };

export interface DatasetTotals {
  datasets: number;
  versions: number;
  parquetBytes: number;
  sourceBytes: number;
}

/**
 * Prometheus metrics of one Weir process, in a registry of its own (not prom-client's global one) so that
 * several apps in one process, as in the tests, never collide.
 */
export class Metrics {
  readonly registry = new Registry();
  /** weir_http_requests_total and weir_http_request_duration_seconds (src/system/http-metrics.ts says why apart). */
  readonly http: HttpMetrics;
  readonly ingests: Counter<'format' | 'outcome'>;
  readonly ingestDuration: Histogram<'format'>;
  readonly wsConnections: Gauge;
  readonly wsSubscriptions: Gauge;
  readonly wsDisconnects: Counter<'reason'>;
  readonly sseStreams: Gauge;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.http = new HttpMetrics(this.registry);
    this.ingests = new Counter({
      name: 'weir_dataset_ingests_total',
      help: 'Dataset uploads processed, by detected format and outcome (stored, duplicate, rejected, failed).',
      labelNames: ['format', 'outcome'],
      registers: [this.registry],
    });
    this.ingestDuration = new Histogram({
      name: 'weir_dataset_ingest_duration_seconds',
      help: 'Time to validate, convert and profile an accepted upload, in seconds.',
      labelNames: ['format'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [this.registry],
    });

    this.wsConnections = new Gauge({
      name: 'weir_ws_connections',
      help: 'Open WebSocket connections of this process.',
      registers: [this.registry],
    });
    this.wsSubscriptions = new Gauge({
      name: 'weir_ws_subscriptions',
      help: 'Topic subscriptions held by the open WebSocket connections of this process (connections × topics).',
      registers: [this.registry],
    });
    this.wsDisconnects = new Counter({
      name: 'weir_ws_disconnects_total',
      help: 'WebSocket connections the server closed, by reason (heartbeat, slow_consumer, shutdown).',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.sseStreams = new Gauge({
      name: 'weir_sse_streams',
      help: 'Open server-sent event streams (job progress) of this process.',
      registers: [this.registry],
    });
  }

  /** Reports the datasets stored, read from the metadata store at scrape time so that every process reports the truth. */
  watchDatasets(datasetTotals: () => Promise<DatasetTotals>): void {
    let pending: Promise<DatasetTotals> | null = null;
    const totals = () => (pending ??= datasetTotals().finally(() => setTimeout(() => (pending = null), 0)));
    new Gauge({
      name: 'weir_datasets',
      help: 'Datasets stored.',
      registers: [this.registry],
      async collect() {
        this.set((await totals()).datasets);
      },
    });
    new Gauge({
      name: 'weir_dataset_versions',
      help: 'Dataset versions stored.',
      registers: [this.registry],
      async collect() {
        this.set((await totals()).versions);
      },
    });
    new Gauge({
      name: 'weir_dataset_bytes',
      help: 'Bytes of dataset versions: kind="parquet" as stored, kind="source" as uploaded.',
      labelNames: ['kind'],
      registers: [this.registry],
      async collect() {
        const t = await totals();
        this.set({ kind: 'parquet' }, t.parquetBytes);
        this.set({ kind: 'source' }, t.sourceBytes);
      },
    });
  }

  /**
   * Reports the supervised job worker process (its state, memory and unexpected exits) and adds its counters and
   * histograms (ingests and whatever else runs in jobs) to this process's exposition.
   */
  watchWorker(supervisor: WorkerSupervisor): void {
    this.worker = supervisor;
    const status = () => supervisor.status;
    new Gauge({
      name: 'weir_worker_up',
      help: 'Whether the job worker process supervised by this server is running (1) or starting, restarting or stopped (0).',
      registers: [this.registry],
      collect() {
        this.set(status().state === 'running' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'weir_worker_resident_memory_bytes',
      help: 'Resident memory of the job worker process at its last sample (killed past WEIR_WORKER_MEMORY_LIMIT).',
      registers: [this.registry],
      collect() {
        const rss = status().rssBytes;
        if (rss !== null) this.set(rss);
      },
    });
    new Counter({
      name: 'weir_worker_exits_total',
      help: 'Unexpected exits of the job worker process, by cause: memory (killed past its limit) or crashed.',
      labelNames: ['cause'],
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ cause: 'memory' }, status().exits.memory);
        this.inc({ cause: 'crashed' }, status().exits.crashed);
      },
    });
  }

  private worker: WorkerSupervisor | null = null;

  /**
   * The text exposition: this process's metrics, plus the counters and histograms of the job worker process it
   * supervises, summed into the same series (its gauges describe per-process state and are left out).
   */
  async exposition(): Promise<string> {
    if (!this.worker) return this.registry.metrics();
    const [own, worker] = await Promise.all([this.registry.getMetricsAsJSON(), this.worker.metrics()]);
    const additive = (worker as MetricObjectWithValues<MetricValue<string>>[]).filter(
      (m) => m.name.startsWith('weir_') && ['counter', 'histogram'].includes(String(m.type)),
    );
    return AggregatorRegistry.aggregate([own, additive]).metrics();
  }

  /** Counts an ingest by format and outcome, and times one that stored a new version. */
  countIngest(end: IngestEnd): void {
    if ('refused' in end) {
      this.ingests.inc({ format: 'unknown', outcome: end.refused ? 'rejected' : 'failed' });
      return;
    }
    this.ingests.inc({ format: end.format, outcome: end.duplicate ? 'duplicate' : 'stored' });
    if (!end.duplicate && end.startedMs !== null)
      this.ingestDuration.observe({ format: end.format }, (performance.now() - end.startedMs) / 1000);
  }
}
