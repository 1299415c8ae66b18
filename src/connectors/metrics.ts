import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Sync } from './model.js';

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Prometheus metrics of connectors, labelled per connector id. */
export class ConnectorMetrics {
  private readonly records: Counter<'connector' | 'outcome'>;
  private readonly syncs: Counter<'connector' | 'status'>;
  private readonly syncDuration: Histogram<'connector'>;
  private readonly breakerState: Gauge<'connector'>;
  private readonly requests: Counter<'connector' | 'outcome'>;
  private readonly cache: Counter<'connector' | 'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.records = new Counter({
      name: 'weir_connector_records_total',
      help: 'Records a connector received, by outcome: stored, duplicate (dropped by source key) or rejected (bad input).',
      labelNames: ['connector', 'outcome'],
      registers,
    });
    this.syncs = new Counter({
      name: 'weir_connector_syncs_total',
      help: 'Connector syncs (polls, backfill pages, stream and push windows) by status.',
      labelNames: ['connector', 'status'],
      registers,
    });
    this.syncDuration = new Histogram({
      name: 'weir_connector_sync_duration_seconds',
      help: 'Duration of connector polls, in seconds.',
      labelNames: ['connector'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'weir_connector_breaker_state',
      help: "A connector's circuit breaker in this process: 0 closed, 1 half-open, 2 open.",
      labelNames: ['connector'],
      registers,
    });
    this.requests = new Counter({
      name: 'weir_connector_requests_total',
      help: 'Requests to sources by outcome (ok, http_error, timeout, network, rate_limited, breaker_open).',
      labelNames: ['connector', 'outcome'],
      registers,
    });
    this.cache = new Counter({
      name: 'weir_connector_cache_total',
      help: 'Response cache lookups of connector requests, by result (hit, miss); the hit rate is hit / (hit + miss).',
      labelNames: ['connector', 'result'],
      registers,
    });
  }

  ingested(connector: string, stored: number, duplicates: number, rejected: number): void {
    if (stored) this.records.inc({ connector, outcome: 'stored' }, stored);
    if (duplicates) this.records.inc({ connector, outcome: 'duplicate' }, duplicates);
    if (rejected) this.records.inc({ connector, outcome: 'rejected' }, rejected);
  }

  synced(connector: string, sync: Sync): void {
    this.syncs.inc({ connector, status: sync.status });
    if (sync.trigger !== 'stream' && sync.trigger !== 'push')
      this.syncDuration.observe({ connector }, sync.durationMs / 1000);
  }

  breaker(connector: string, state: keyof typeof BREAKER_VALUE): void {
    this.breakerState.set({ connector }, BREAKER_VALUE[state]);
  }

  request(connector: string, outcome: string): void {
    this.requests.inc({ connector, outcome });
  }

  cacheLookup(connector: string, hit: boolean): void {
    this.cache.inc({ connector, result: hit ? 'hit' : 'miss' });
  }
}
