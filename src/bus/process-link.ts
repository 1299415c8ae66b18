import type { Log } from '../logger.js';
import { LocalEventBus } from './local.js';
import type { BusEvent, BusListener, EventBus, Topic } from './types.js';

/**
 * The event bus across the IPC channel between `weir serve` and the worker process it supervises (embedded mode,
 * where no Redis carries events between processes). Each side delivers what it publishes to its own listeners
 * first; what crosses the channel is asymmetric:
 *  - worker → API: every event. The API is where clients listen (WebSocket, SSE, `?wait=true`), and sending all
 *    of it means no event can be lost between a client subscribing in the API and the worker hearing of it. The
 *    worker's events are few (job states, throttled progress, dataset and upload changes).
 *  - API → worker: only topics the worker listens to, which it announces (it subscribes to `job:<id>` while it
 *    runs that job, to hear a cancel at once; a cancel it misses is still read from the row at the next heartbeat).
 * An event crosses once and is never sent back.
 */

/** The bus's messages on the IPC channel (next to the worker protocol's own, src/jobs/worker-protocol.ts). */
export type BusLinkMessage =
  | { type: 'bus.event'; event: BusEvent }
  | { type: 'bus.subscribe'; topic: Topic }
  | { type: 'bus.unsubscribe'; topic: Topic };

export function isBusLinkMessage(m: { type: string }): m is BusLinkMessage {
  return m.type === 'bus.event' || m.type === 'bus.subscribe' || m.type === 'bus.unsubscribe';
}

export type LinkSide = 'api' | 'worker';

export class LinkedEventBus implements EventBus {
  readonly driver = 'ipc' as const;
  private readonly local: LocalEventBus;
  /** API side: the topics the worker listens to. */
  private readonly workerTopics = new Set<Topic>();
  private send: ((m: BusLinkMessage) => void) | null = null;

  constructor(
    private readonly side: LinkSide,
    log: Log,
  ) {
    this.local = new LocalEventBus(log);
  }

  /**
   * Connects to the channel (again, after the worker was restarted: a new peer knows none of this side's topics,
   * so the worker announces them anew). `null` disconnects; messages meanwhile are dropped.
   */
  attach(send: ((m: BusLinkMessage) => void) | null): void {
    this.send = send;
    this.workerTopics.clear();
    if (send && this.side === 'worker')
      for (const topic of this.local.activeTopics()) send({ type: 'bus.subscribe', topic });
  }

  /** A message of the bus from the other side. */
  receive(m: BusLinkMessage): void {
    switch (m.type) {
      case 'bus.event':
        this.local.deliver(m.event);
        return;
      case 'bus.subscribe':
        this.workerTopics.add(m.topic);
        return;
      case 'bus.unsubscribe':
        this.workerTopics.delete(m.topic);
        return;
    }
  }

  publish(topic: Topic, type: string, data: unknown): Promise<void> {
    const event: BusEvent = { topic, type, data, ts: new Date().toISOString() };
    this.local.deliver(event);
    if (this.side === 'worker' || this.workerTopics.has(topic)) this.send?.({ type: 'bus.event', event });
    return Promise.resolve();
  }

  subscribe(topic: Topic, listener: BusListener): () => void {
    const announce = this.side === 'worker' && !this.local.hasListeners(topic);
    const unsubscribe = this.local.subscribe(topic, listener);
    if (announce) this.send?.({ type: 'bus.subscribe', topic });
    return () => {
      unsubscribe();
      if (this.side === 'worker' && !this.local.hasListeners(topic)) this.send?.({ type: 'bus.unsubscribe', topic });
    };
  }

  /** Topics with at least one listener in this process. */
  activeTopics(): Topic[] {
    return this.local.activeTopics();
  }

  close(): Promise<void> {
    this.send = null;
    return this.local.close();
  }
}
