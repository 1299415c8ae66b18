import type { Log } from '../logger.js';
import type { BusEvent, BusListener, EventBus, Topic } from './types.js';

/** The embedded driver: one process, delivery by direct call. Listeners are isolated from each other's errors. */
export class LocalEventBus implements EventBus {
  readonly driver = 'local' as const;
  private readonly listeners = new Map<Topic, Set<BusListener>>();

  constructor(private readonly log: Log) {}

  publish(topic: Topic, type: string, data: unknown): Promise<void> {
    this.deliver({ topic, type, data, ts: new Date().toISOString() });
    return Promise.resolve();
  }

  /** Hands an event to this process's listeners; the Redis driver calls it for events from other processes. */
  deliver(event: BusEvent): void {
    const set = this.listeners.get(event.topic);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch (e) {
        this.log.error({ err: e, topic: event.topic }, 'event listener failed');
      }
    }
  }

  subscribe(topic: Topic, listener: BusListener): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(topic) === set) this.listeners.delete(topic);
    };
  }

  hasListeners(topic: Topic): boolean {
    return this.listeners.has(topic);
  }

  /** Topics with at least one listener in this process. */
  activeTopics(): Topic[] {
    return [...this.listeners.keys()];
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}
