import { Redis } from 'ioredis';
import type { Log } from '../logger.js';
import { LocalEventBus } from './local.js';
import type { BusEvent, BusListener, EventBus, Topic } from './types.js';

export interface RedisEventBusOptions {
  /** Prepended to every topic to make its channel (`weir:events:` + `job:job_…`); tests use a random one. */
  channelPrefix: string;
  /** CLIENT SETNAME of the two connections (`<name>:pub`, `<name>:sub`), to find them in CLIENT LIST. */
  connectionName?: string;
}

/** What travels in a Redis message: the event without its topic (the channel names it). */
interface WireEvent {
  type: string;
  data: unknown;
  ts: string;
}

function isWireEvent(v: unknown): v is WireEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.type === 'string' && typeof e.ts === 'string' && 'data' in e;
}

interface ChannelState {
  /** Local listeners of the topic; the Redis channel is subscribed exactly while this is above 0. */
  listeners: number;
  /** Settles once Redis has confirmed the SUBSCRIBE (never rejects: failures are logged). */
  subscribed: Promise<void>;
}

/**
 * The cluster driver: events travel through Redis pub/sub, so a subscriber on any API node sees what any worker
 * or node publishes. One publisher and one subscriber connection per process. A Redis channel is subscribed
 * only while this process has local listeners of its topic (reference counted), so a node never receives
 * traffic for topics nobody on it watches. Delivery to local listeners goes through a LocalEventBus.
 *
 * Events are notifications, not records: the database holds the truth (a job's state, a dataset's versions).
 * So `publish` never rejects: an event that cannot reach Redis is logged and dropped, and a client that missed
 * events reads the current state (WebSocket `status`, the SSE stream's first message).
 *
 * An event published by this process reaches its own listeners through Redis too (not by a direct call), so
 * every listener sees every topic's events in the one order Redis delivered them.
 *
 * Reconnects: ioredis re-subscribes every channel still subscribed (autoResubscribe) once the subscriber
 * connection is back; events published while it was down are lost (see above).
 */
export class RedisEventBus implements EventBus {
  readonly driver = 'redis' as const;
  private readonly local: LocalEventBus;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channels = new Map<Topic, ChannelState>();
  private readonly prefix: string;
  private closed = false;

  constructor(
    url: string,
    private readonly log: Log,
    options: RedisEventBusOptions,
  ) {
    this.prefix = options.channelPrefix;
    this.local = new LocalEventBus(log);
    const name = options.connectionName ?? 'weir-bus';
    // A publish waits for at most one reconnect before it is dropped: stale progress is worth little.
    this.publisher = new Redis(url, { connectionName: `${name}:pub`, maxRetriesPerRequest: 1, lazyConnect: false });
    // SUBSCRIBE must never be given up on: the reference count says the channel is subscribed.
    this.subscriber = new Redis(url, {
      connectionName: `${name}:sub`,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });
    this.watchConnection(this.publisher, 'publisher');
    this.watchConnection(this.subscriber, 'subscriber');
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  /** Logs the first error of an outage and the recovery, not every failed reconnect attempt. */
  private watchConnection(client: Redis, role: string): void {
    let down = false;
    client.on('error', (err: Error) => {
      if (down || this.closed) return;
      down = true;
      this.log.warn({ err: { message: err.message }, role }, 'event bus: Redis connection error');
    });
    client.on('ready', () => {
      if (!down) return;
      down = false;
      this.log.info({ role }, 'event bus: Redis connection restored');
    });
  }

  private onMessage(channel: string, message: string): void {
    if (!channel.startsWith(this.prefix)) return;
    const topic = channel.slice(this.prefix.length) as Topic;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      parsed = undefined;
    }
    if (!isWireEvent(parsed)) {
      this.log.warn({ channel }, 'event bus: ignored a malformed message');
      return;
    }
    const event: BusEvent = { topic, type: parsed.type, data: parsed.data, ts: parsed.ts };
    this.local.deliver(event);
  }

  async publish(topic: Topic, type: string, data: unknown): Promise<void> {
    if (this.closed) return;
    const wire: WireEvent = { type, data, ts: new Date().toISOString() };
    try {
      await this.publisher.publish(this.prefix + topic, JSON.stringify(wire));
    } catch (e) {
      this.log.warn(
        { err: { message: (e as Error).message }, topic, type },
        'event bus: event dropped, Redis did not take it',
      );
    }
  }

  subscribe(topic: Topic, listener: BusListener): () => void {
    const off = this.local.subscribe(topic, listener);
    let state = this.channels.get(topic);
    if (!state) {
      state = { listeners: 0, subscribed: this.redisSubscribe(topic) };
      this.channels.set(topic, state);
    }
    state.listeners++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      const current = this.channels.get(topic);
      if (current !== state) return;
      if (--current.listeners === 0) {
        this.channels.delete(topic);
        // Commands on one connection run in order, so a SUBSCRIBE issued after this UNSUBSCRIBE wins.
        if (!this.closed)
          this.subscriber
            .unsubscribe(this.prefix + topic)
            .catch((e: unknown) =>
              this.log.warn({ err: { message: (e as Error).message }, topic }, 'event bus: UNSUBSCRIBE failed'),
            );
      }
    };
  }

  private redisSubscribe(topic: Topic): Promise<void> {
    return this.subscriber.subscribe(this.prefix + topic).then(
      () => undefined,
      (e: unknown) => {
        if (!this.closed)
          this.log.error({ err: { message: (e as Error).message }, topic }, 'event bus: SUBSCRIBE failed');
      },
    );
  }

  /** Resolves once events of `topic` published anywhere reach this process's listeners (Redis confirmed the SUBSCRIBE). */
  whenSubscribed(topic: Topic): Promise<void> {
    return this.channels.get(topic)?.subscribed ?? Promise.resolve();
  }

  /** Topics this process holds a Redis subscription for. */
  activeTopics(): Topic[] {
    return [...this.channels.keys()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    await this.local.close();
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
