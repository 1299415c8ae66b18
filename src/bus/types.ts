/**
 * The event bus: progress and state changes travel on topics from whoever produces them (a job handler, an
 * upload, a service) to whoever listens (the WebSocket hub, SSE streams). In-process by default; Redis pub/sub
 * in cluster mode, so a client on API node A sees the progress of a job running on worker B.
 */

export type TopicKind = 'job' | 'dataset' | 'upload' | 'model' | 'connector' | 'workspace';

/**
 * `job:<id>`, `dataset:<id>`, `upload:<id>`, `model:<id>`, `workspace:<id>`; and the internal topics between
 * Weir's own processes, which `parseTopic` refuses so that no client can subscribe to them.
 */
export type Topic = `${TopicKind}:${string}` | InternalTopic;

/** `internal:identity`: memberships, roles, keys, sessions or network rules changed (src/identity/changes.ts). */
export type InternalTopic = 'internal:identity' | 'internal:connectors';

export const topics = {
  job: (id: string): Topic => `job:${id}`,
  dataset: (id: string): Topic => `dataset:${id}`,
  upload: (id: string): Topic => `upload:${id}`,
  model: (id: string): Topic => `model:${id}`,
  connector: (id: string): Topic => `connector:${id}`,
  workspace: (id: string): Topic => `workspace:${id}`,
};

const TOPIC_RE = /^(job|dataset|upload|model|connector|workspace):([A-Za-z0-9_-]{1,64})$/;

export function parseTopic(value: string): { kind: TopicKind; id: string } | null {
  const m = TOPIC_RE.exec(value);
  return m ? { kind: m[1] as TopicKind, id: m[2]! } : null;
}

/** One event as it travels the bus and as it reaches WebSocket clients. */
export interface BusEvent<T = unknown> {
  topic: Topic;
  /** e.g. `job.state`, `job.progress`, `dataset.version`, `upload.progress`. */
  type: string;
  data: T;
  /** ISO 8601, UTC, set by the publisher. */
  ts: string;
}

export type BusListener = (event: BusEvent) => void;

export interface EventBus {
  /**
   * What carries events between processes: `local` (this process only), `ipc` (this process and its supervised
   * worker process), `redis` (every process of a cluster). `GET /system/info` reports it.
   */
  readonly driver: 'local' | 'ipc' | 'redis';
  /** Delivers to every subscriber of the topic in every process of the deployment. Never throws for "no listeners". */
  publish(topic: Topic, type: string, data: unknown): Promise<void>;
  /** Returns the function that unsubscribes. Listeners must not throw; a throwing listener is logged and skipped. */
  subscribe(topic: Topic, listener: BusListener): () => void;
  /**
   * Resolves once events of `topic` published anywhere reach this process's listeners. Drivers whose
   * `subscribe` takes effect at once (the local one) leave it out. Await it after `subscribe` and before reading
   * an object's current state, so that no event falls between the read and the subscription.
   */
  whenSubscribed?(topic: Topic): Promise<void>;
  close(): Promise<void>;
}
