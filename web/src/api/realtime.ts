import { useEffect, useRef } from 'react';
import { credentials } from './credentials';

/**
 * One WebSocket per tab to GET /api/v1/ws (protocol: src/realtime/protocol.ts), shared by every component that
 * watches a topic (`job:<id>`, `dataset:<id>`, `workspace:<id>`). Subscriptions are counted per topic, renewed after
 * a reconnect, and the socket closes when nobody listens. Each topic is authorized by the caller's role in the
 * topic's own workspace, so one connection serves every workspace. Browsers cannot set headers on a WebSocket, so
 * the token travels in the query string (the server redacts it from its logs); an expired token (close 4401)
 * reconnects with a fresh one.
 */

export interface TopicEvent {
  topic: string;
  /** `job.progress`, `job.state`, `dataset.version`, … */
  event: string;
  data: unknown;
  ts: string;
}

type Handler = (event: TopicEvent) => void;

/** One watcher of a topic: its events, and a call each time its subscription is (again) in place at the server. */
interface Watcher {
  handler: Handler;
  onSubscribed?: () => void;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;

export class RealtimeConnection {
  private socket: WebSocket | null = null;
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Topics the server confirmed on the current socket: events published from then on reach us. */
  private readonly confirmed = new Set<string>();
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * Starts delivering `topic`'s events to `handler`. `onSubscribed` is called once the server has confirmed the
   * subscription, and again after every reconnect: anything read before that moment may predate events that were
   * never sent to us, so that is when a watcher reads the current state.
   */
  subscribe(topic: string, handler: Handler, onSubscribed?: () => void): () => void {
    const watcher: Watcher = { handler, onSubscribed };
    let set = this.watchers.get(topic);
    if (!set) {
      set = new Set();
      this.watchers.set(topic, set);
      this.send({ type: 'subscribe', topic });
    } else if (this.confirmed.has(topic) && onSubscribed) {
      // Already flowing: this watcher's own read, from now on, cannot miss an event.
      queueMicrotask(() => {
        if (this.watchers.get(topic)?.has(watcher)) onSubscribed();
      });
    }
    set.add(watcher);
    this.ensureOpen();
    return () => {
      const current = this.watchers.get(topic);
      if (!current) return;
      current.delete(watcher);
      if (current.size > 0) return;
      this.watchers.delete(topic);
      this.confirmed.delete(topic);
      this.send({ type: 'unsubscribe', topic });
      if (this.watchers.size === 0) this.close();
    };
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private async ensureOpen(): Promise<void> {
    if (this.socket || this.reconnectTimer) return;
    const token = await credentials.freshToken();
    if (!token || this.socket || this.watchers.size === 0) return;
    const url = new URL('/api/v1/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('access_token', token);
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.reconnectDelay = RECONNECT_MIN_MS;
      for (const topic of this.watchers.keys()) this.send({ type: 'subscribe', topic });
    };
    socket.onmessage = (message) => {
      let parsed: { type?: string; topic?: string } & Partial<TopicEvent>;
      try {
        parsed = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (!parsed.topic) return;
      const watchers = this.watchers.get(parsed.topic);
      if (!watchers) return;
      if (parsed.type === 'subscribed') {
        this.confirmed.add(parsed.topic);
        for (const watcher of [...watchers]) watcher.onSubscribed?.();
      } else if (parsed.type === 'event') {
        for (const watcher of [...watchers]) watcher.handler(parsed as TopicEvent);
      } else if (parsed.type === 'unsubscribed') {
        // The server ended it (the caller lost access to the topic): no more events will come.
        this.confirmed.delete(parsed.topic);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.confirmed.clear();
      if (this.watchers.size === 0) return;
      const delay = opened ? RECONNECT_MIN_MS : this.reconnectDelay;
      this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        void this.ensureOpen();
      }, delay);
    };
  }

  private close(): void {
    const socket = this.socket;
    this.socket = null;
    this.confirmed.clear();
    socket?.close(1000);
  }
}

export const realtime = new RealtimeConnection();

/**
 * Calls `handler` with each event of `topic` while the component is mounted (null: nothing to watch), and
 * `onSubscribed` each time the subscription is in place at the server: first, and after every reconnect. A read made
 * before that may have missed events, so this is where a watcher reads the current state again.
 */
export function useTopic(topic: string | null, handler: Handler, onSubscribed?: () => void): void {
  const handlerRef = useRef(handler);
  const subscribedRef = useRef(onSubscribed);
  handlerRef.current = handler;
  subscribedRef.current = onSubscribed;
  useEffect(() => {
    if (!topic) return;
    return realtime.subscribe(
      topic,
      (event) => handlerRef.current(event),
      () => subscribedRef.current?.(),
    );
  }, [topic]);
}
