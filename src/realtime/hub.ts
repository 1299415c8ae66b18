import type { BusEvent, EventBus, Topic } from '../bus/types.js';
import { IDENTITY_CHANGES, parseIdentityChange, type IdentityChange } from '../identity/changes.js';
import type { Log } from '../logger.js';
import type { Metrics } from '../system/metrics.js';
import { encode } from './protocol.js';

/** What the hub needs of a connection (src/realtime/connection.ts). */
export interface HubMember {
  /** Topics this connection is subscribed to; the hub keeps it in step with its fan-out sets. */
  readonly topics: Set<Topic>;
  /** Sends an already encoded frame, or closes the connection as a slow consumer; false when not sent. */
  sendFrame(frame: Buffer): boolean;
  /** Heartbeat: false → terminated (no pong since the last ping), true → pinged (and authorized again). */
  heartbeat(): boolean;
  /** A membership, role, key, session or network rule changed somewhere: re-authorize if it may concern this member. */
  accessChanged(change: IdentityChange): void;
  close(code: number, reason: string): void;
}

/** One topic with local subscribers: the sockets and the single bus subscription serving all of them. */
interface Fanout {
  members: Set<HubMember>;
  unsubscribe: () => void;
}

export interface HubOptions {
  heartbeatMs: number;
}

/**
 * The WebSocket hub of one process: every open connection, and per topic the set of connections subscribed to
 * it. A topic holds exactly one bus subscription while at least one local connection watches it (so with the
 * Redis bus, exactly one Redis channel), and each event is serialized once and the same bytes are written to
 * every subscriber. One timer pings every connection; access checks happen before `join` (connection.ts), and
 * again on every heartbeat and whenever an identity change published by any API process may concern a
 * connection (`internal:identity`, src/identity/changes.ts).
 */
export class Hub {
  private readonly members = new Set<HubMember>();
  private readonly fanouts = new Map<Topic, Fanout>();
  private readonly timer: NodeJS.Timeout;
  private readonly stopWatchingIdentity: () => void;
  private closing = false;

  constructor(
    private readonly bus: EventBus,
    private readonly log: Log,
    private readonly metrics: Pick<Metrics, 'wsConnections' | 'wsSubscriptions'>,
    options: HubOptions,
  ) {
    this.timer = setInterval(() => this.beat(), options.heartbeatMs);
    this.timer.unref();
    this.stopWatchingIdentity = bus.subscribe(IDENTITY_CHANGES, (event) => this.onIdentityChange(event));
  }

  /** Resolves once identity changes published anywhere reach this hub. */
  watchingIdentity(): Promise<void> {
    return this.bus.whenSubscribed?.(IDENTITY_CHANGES) ?? Promise.resolve();
  }

  private onIdentityChange(event: BusEvent): void {
    const change = parseIdentityChange(event.type, event.data);
    if (!change) {
      this.log.warn({ type: event.type }, 'websocket: ignored a malformed identity change');
      return;
    }
    // Changes are rare (people and keys being managed); each member decides cheaply whether it is concerned.
    for (const member of this.members) member.accessChanged(change);
  }

  get size(): number {
    return this.members.size;
  }

  /** False once shutdown has begun: the caller closes the socket with 1001. */
  add(member: HubMember): boolean {
    if (this.closing) return false;
    this.members.add(member);
    this.metrics.wsConnections.inc();
    return true;
  }

  /** Forgets a closed connection and its subscriptions; safe to call more than once. */
  remove(member: HubMember): void {
    if (!this.members.delete(member)) return;
    this.metrics.wsConnections.dec();
    for (const topic of [...member.topics]) this.leave(member, topic);
  }

  /**
   * Subscribes a connection (already authorized for the topic). Resolves once events of the topic published
   * anywhere reach it, so an answer `subscribed` sent after this promises every later event.
   */
  async join(member: HubMember, topic: Topic): Promise<void> {
    if (!this.members.has(member) || member.topics.has(topic)) return;
    let fanout = this.fanouts.get(topic);
    if (!fanout) {
      const members = new Set<HubMember>();
      fanout = { members, unsubscribe: this.bus.subscribe(topic, (event) => this.broadcast(members, event)) };
      this.fanouts.set(topic, fanout);
    }
    fanout.members.add(member);
    member.topics.add(topic);
    this.metrics.wsSubscriptions.inc();
    await this.bus.whenSubscribed?.(topic);
  }

  leave(member: HubMember, topic: Topic): void {
    if (!member.topics.delete(topic)) return;
    this.metrics.wsSubscriptions.dec();
    const fanout = this.fanouts.get(topic);
    if (!fanout) return;
    fanout.members.delete(member);
    if (fanout.members.size === 0) {
      this.fanouts.delete(topic);
      fanout.unsubscribe();
    }
  }

  /** Topics with at least one local subscriber. */
  activeTopics(): Topic[] {
    return [...this.fanouts.keys()];
  }

  private broadcast(members: Set<HubMember>, event: BusEvent): void {
    if (members.size === 0) return;
    // Encoded once per event: the same Buffer goes to every socket (ws does not copy unmasked server frames).
    const frame = Buffer.from(
      encode({ type: 'event', topic: event.topic, event: event.type, data: event.data, ts: event.ts }),
    );
    // A slow consumer leaves `members` during this loop; deleting the current element of a Set mid-iteration is safe.
    for (const member of members) member.sendFrame(frame);
  }

  private beat(): void {
    let terminated = 0;
    for (const member of this.members) if (!member.heartbeat()) terminated++;
    if (terminated > 0) this.log.info({ terminated }, 'websocket: closed connections that missed a heartbeat');
  }

  /** Shutdown: closes every connection with 1001 (going away) and drops every bus subscription. */
  close(): void {
    this.closing = true;
    clearInterval(this.timer);
    this.stopWatchingIdentity();
    for (const member of [...this.members]) {
      member.close(1001, 'server shutting down');
      this.remove(member);
    }
  }
}
