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

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;

class RealtimeConnection {
  private socket: WebSocket | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly reconnectListeners = new Set<() => void>();

  subscribe(topic: string, handler: Handler): () => void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
      this.send({ type: 'subscribe', topic });
    }
    set.add(handler);
    this.ensureOpen();
    return () => {
      const current = this.handlers.get(topic);
      if (!current) return;
      current.delete(handler);
      if (current.size > 0) return;
      this.handlers.delete(topic);
      this.send({ type: 'unsubscribe', topic });
      if (this.handlers.size === 0) this.close();
    };
  }

  /** Called after each reconnect: events may have been missed, so watchers refetch. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private async ensureOpen(): Promise<void> {
    if (this.socket || this.reconnectTimer) return;
    const token = await credentials.freshToken();
    if (!token || this.socket || this.handlers.size === 0) return;
    const url = new URL('/api/v1/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('access_token', token);
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.reconnectDelay = RECONNECT_MIN_MS;
      for (const topic of this.handlers.keys()) this.send({ type: 'subscribe', topic });
      for (const listener of this.reconnectListeners) listener();
    };
    socket.onmessage = (message) => {
      let parsed: { type?: string; topic?: string } & Partial<TopicEvent>;
      try {
        parsed = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (parsed.type !== 'event' || !parsed.topic) return;
      for (const handler of this.handlers.get(parsed.topic) ?? []) handler(parsed as TopicEvent);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.handlers.size === 0) return;
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
    socket?.close(1000);
  }
}

export const realtime = new RealtimeConnection();

/**
 * Calls `handler` with each event of `topic` while the component is mounted (null: nothing to watch), and
 * `onReconnect` when the connection came back (to refetch what may have been missed).
 */
export function useTopic(topic: string | null, handler: Handler, onReconnect?: () => void): void {
  const handlerRef = useRef(handler);
  const reconnectRef = useRef(onReconnect);
  handlerRef.current = handler;
  reconnectRef.current = onReconnect;
  useEffect(() => {
    if (!topic) return;
    const off = realtime.subscribe(topic, (event) => handlerRef.current(event));
    const offReconnect = realtime.onReconnect(() => reconnectRef.current?.());
    return () => {
      off();
      offReconnect();
    };
  }, [topic]);
}
