import type { EventBus } from '../bus/types.js';
import type { Config } from '../config.js';
import type { DatasetService } from '../datasets/service.js';
import type { JobService } from '../jobs/service.js';
import type { Log } from '../logger.js';
import type { Metrics } from '../system/metrics.js';
import type { UploadService } from '../uploads/service.js';
import type { ModelService } from '../models/service.js';
import type { ConnectorService } from '../connectors/service.js';
import { builtinTopics, type TopicCatalog } from './builtin-topics.js';
import { Hub } from './hub.js';
import { StreamCaps } from './stream-caps.js';

/** The real-time side of a process: the WebSocket hub, the topics it serves, and the per-holder stream caps. */
export interface Realtime {
  /**
   * The WebSocket hub, built on first use: only a process that serves HTTP has one (a job worker never opens a
   * timer or an identity subscription for it).
   */
  hub(): Hub;
  /** Which workspace and permission each topic's object answers to, and how to read its current state. */
  topics: TopicCatalog;
  /** WebSocket connections per user and per API key; null with authentication off (every caller is one principal). */
  wsCaps: StreamCaps | null;
  /** Job event streams (SSE) per user and per API key; null with authentication off. */
  sseCaps: StreamCaps | null;
  /** Closes every WebSocket connection with 1001 and drops the hub's bus subscriptions; safe to call again. */
  close(): void;
}

export function createRealtime(o: {
  config: Pick<Config, 'realtime' | 'auth'>;
  log: Log;
  bus: EventBus;
  metrics: Metrics;
  jobs: Pick<JobService, 'workspaceOf' | 'find'>;
  datasets: Pick<DatasetService, 'workspaceOf' | 'get'>;
  uploads: Pick<UploadService, 'workspaceOf' | 'view'>;
  models?: Pick<ModelService, 'workspaceOf' | 'get'>;
  connectors?: Pick<ConnectorService, 'workspaceOf' | 'get'>;
}): Realtime {
  const { realtime, auth } = o.config;
  let hub: Hub | null = null;
  let closed = false;
  return {
    hub() {
      if (closed) throw new Error('the WebSocket hub is closed');
      return (hub ??= new Hub(o.bus, o.log, o.metrics, { heartbeatMs: realtime.wsHeartbeatMs }));
    },
    topics: builtinTopics(o.jobs, o.datasets, o.uploads, o.models, o.connectors),
    wsCaps: auth.insecureDisabled
      ? null
      : new StreamCaps({ perUser: realtime.wsMaxConnectionsPerUser, perKey: realtime.wsMaxConnectionsPerKey }),
    sseCaps: auth.insecureDisabled
      ? null
      : new StreamCaps({ perUser: realtime.sseMaxStreamsPerUser, perKey: realtime.sseMaxStreamsPerUser }),
    close() {
      if (closed) return;
      closed = true;
      hub?.close();
    },
  };
}
