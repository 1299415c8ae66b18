import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('./credentials', () => ({ credentials: { freshToken: async () => 'token' } }));
const { RealtimeConnection } = await import('./realtime');

/** A WebSocket the test drives: it records what the client sends and delivers what the "server" says. */
class FakeSocket {
  static readonly OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Array<{ type: string; topic?: string }> = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;

  constructor(readonly url: URL) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  say(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

const latestSocket = async (count: number): Promise<FakeSocket> => {
  await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(count));
  return FakeSocket.all[count - 1]!;
};

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('location', new URL('http://127.0.0.1:3000/jobs'));
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('RealtimeConnection', () => {
  it('tells a watcher its subscription is in place only when the server confirmed it, and again after a reconnect', async () => {
    const connection = new RealtimeConnection();
    const events: string[] = [];
    const subscribed = vi.fn();
    const off = connection.subscribe('job:job_1', (e) => events.push(e.event), subscribed);
    const socket = await latestSocket(1);
    socket.open();
    expect(socket.sent).toEqual([{ type: 'subscribe', topic: 'job:job_1' }]);
    // Sent, not yet confirmed: a read made now could still miss an event published before the server subscribed.
    expect(subscribed).not.toHaveBeenCalled();

    socket.say({ type: 'subscribed', topic: 'job:job_1' });
    expect(subscribed).toHaveBeenCalledTimes(1);
    socket.say({ type: 'event', topic: 'job:job_1', event: 'job.state', data: {}, ts: '' });
    socket.say({ type: 'event', topic: 'job:job_2', event: 'job.state', data: {}, ts: '' });
    expect(events).toEqual(['job.state']);

    // The connection drops: events may be missed until the new socket's subscription is confirmed.
    vi.useFakeTimers();
    socket.drop();
    await vi.advanceTimersByTimeAsync(1000);
    vi.useRealTimers();
    const again = await latestSocket(2);
    again.open();
    expect(again.sent).toEqual([{ type: 'subscribe', topic: 'job:job_1' }]);
    expect(subscribed).toHaveBeenCalledTimes(1);
    again.say({ type: 'subscribed', topic: 'job:job_1' });
    expect(subscribed).toHaveBeenCalledTimes(2);

    off();
    expect(again.sent.at(-1)).toEqual({ type: 'unsubscribe', topic: 'job:job_1' });
  });

  it('a second watcher of a confirmed topic is told at once; one of a topic not yet confirmed waits for it', async () => {
    const connection = new RealtimeConnection();
    const first = vi.fn();
    connection.subscribe('dataset:ds_1', () => {}, first);
    const socket = await latestSocket(1);
    socket.open();
    const early = vi.fn();
    connection.subscribe('dataset:ds_1', () => {}, early);
    await Promise.resolve();
    expect(early).not.toHaveBeenCalled();
    socket.say({ type: 'subscribed', topic: 'dataset:ds_1' });
    expect([first.mock.calls.length, early.mock.calls.length]).toEqual([1, 1]);

    const late = vi.fn();
    connection.subscribe('dataset:ds_1', () => {}, late);
    await vi.waitFor(() => expect(late).toHaveBeenCalledTimes(1));
    // One subscription at the server for all three.
    expect(socket.sent.filter((m) => m.type === 'subscribe')).toHaveLength(1);
  });

  it('forgets a confirmation the server took back', async () => {
    const connection = new RealtimeConnection();
    connection.subscribe('workspace:ws_1', () => {});
    const socket = await latestSocket(1);
    socket.open();
    socket.say({ type: 'subscribed', topic: 'workspace:ws_1' });
    socket.say({ type: 'unsubscribed', topic: 'workspace:ws_1', reason: 'forbidden', message: 'no longer a member' });
    const late = vi.fn();
    connection.subscribe('workspace:ws_1', () => {}, late);
    await Promise.resolve();
    await Promise.resolve();
    expect(late).not.toHaveBeenCalled();
  });
});
