import { WebSocket, type RawData } from 'ws';
import { parseTopic, type Topic } from '../bus/types.js';
import type { AccessControl, Principal } from '../http/access.js';
import { affects, type IdentityChange } from '../identity/changes.js';
import type { Log } from '../logger.js';
import type { Metrics } from '../system/metrics.js';
import type { TopicCatalog } from './builtin-topics.js';
import type { Hub, HubMember } from './hub.js';
import {
  encode,
  parseClientMessage,
  ProtocolError,
  type ClientMessage,
  type ServerMessage,
  type UnsubscribeReason,
} from './protocol.js';
import { lostTopics, revocationMessage, type Reauthenticate } from './reauthorize.js';
import { authorizeTopic, type TopicOwner } from './topics.js';

export interface ConnectionLimits {
  /** A connection whose unsent bytes exceed this is closed as a slow consumer (1013). */
  maxBufferBytes: number;
  maxSubscriptions: number;
  /** Client messages queued (answered in order) before further ones are refused with `too_many_requests`. */
  maxPending: number;
}

export interface ConnectionDeps {
  hub: Hub;
  catalog: TopicCatalog;
  access: AccessControl;
  metrics: Pick<Metrics, 'wsDisconnects'>;
  limits: ConnectionLimits;
  /**
   * The principal the socket's credentials give now, or null once they are no longer good (expired, revoked,
   * logged out, user disabled). Asked on every heartbeat and on every identity change that may concern this
   * connection; every subscription is then authorized again against it. Absent when authentication is off.
   */
  reauthenticate?: Reauthenticate;
}

const idOf = (m: { id?: string }): { id?: string } => (m.id !== undefined ? { id: m.id } : {});

/**
 * One client's WebSocket: its subscriptions, heartbeat state and the bounded send path. Messages of a
 * connection are handled one after another, so answers come in request order; re-authorizations run in the same
 * line, so a subscribe never races one. Every failure of a request is answered with an `error` message; nothing
 * a client sends closes the connection.
 */
export class Connection implements HubMember {
  readonly topics = new Set<Topic>();
  /** What each subscription needed when it was granted: its object's workspace never changes, so it is not resolved again. */
  private readonly grants = new Map<Topic, TopicOwner>();
  private alive = true;
  private closed = false;
  private pending = 0;
  private recheckQueued = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    /** Replaced by each re-authentication: roles and scopes change while the socket stays open. */
    private principal: Principal,
    private readonly log: Log,
    private readonly deps: ConnectionDeps,
  ) {}

  /** Registers with the hub and starts reading; a hub that is shutting down gets the socket closed with 1001. */
  start(): void {
    const { socket, deps } = this;
    socket.on('close', () => {
      this.closed = true;
      deps.hub.remove(this);
    });
    if (!deps.hub.add(this)) {
      this.close(1001, 'server shutting down');
      return;
    }
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
  }

  sendFrame(frame: Buffer): boolean {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return false;
    // bufferedAmount is what the kernel has not taken yet: a client that stops reading makes it grow. Past
    // the cap the connection is dropped rather than holding more of its backlog in memory.
    if (this.socket.bufferedAmount > this.deps.limits.maxBufferBytes) {
      this.deps.metrics.wsDisconnects.inc({ reason: 'slow_consumer' });
      this.log.warn(
        { userId: this.principal.userId, bufferedBytes: this.socket.bufferedAmount, topics: this.topics.size },
        'websocket: closing a slow consumer',
      );
      this.close(1013, 'slow consumer');
      return false;
    }
    this.socket.send(frame, { binary: false });
    return true;
  }

  heartbeat(): boolean {
    if (this.closed) return true;
    if (!this.alive) {
      this.deps.metrics.wsDisconnects.inc({ reason: 'heartbeat' });
      this.closed = true;
      this.socket.terminate();
      this.deps.hub.remove(this);
      return false;
    }
    this.alive = false;
    this.socket.ping();
    this.recheck();
    return true;
  }

  accessChanged(change: IdentityChange): void {
    if (this.closed) return;
    const workspaces = new Set([...this.grants.values()].map((g) => g.workspaceId));
    if (affects(change, this.principal, workspaces)) this.recheck();
  }

  /** Queues a re-authorization behind the requests waiting; one queued serves every trigger that comes meanwhile. */
  private recheck(): void {
    if (this.closed || this.recheckQueued || !this.deps.reauthenticate) return;
    this.recheckQueued = true;
    this.queue = this.queue.then(() => {
      this.recheckQueued = false;
      return this.reauthorize(this.deps.reauthenticate!);
    });
  }

  /** Never rejects: the request queue chains on it. */
  private async reauthorize(reauthenticate: Reauthenticate): Promise<void> {
    if (this.closed) return;
    try {
      const principal = await reauthenticate();
      if (this.closed) return;
      if (principal === null) {
        for (const topic of [...this.grants.keys()]) this.end(topic, 'credentials_revoked');
        this.deps.metrics.wsDisconnects.inc({ reason: 'credentials' });
        // 4401 (an application code mirroring HTTP 401): reconnect with a fresh token.
        this.close(4401, 'credentials expired or revoked');
        return;
      }
      this.principal = principal;
      if (this.grants.size === 0) return;
      const lost = await lostTopics(this.deps.access, principal, this.grants);
      if (this.closed) return;
      for (const topic of lost) this.end(topic, 'access_revoked');
      if (lost.length > 0)
        this.log.info(
          { userId: principal.userId, apiKeyId: principal.apiKeyId, topics: lost.length },
          'websocket: ended subscriptions whose access was revoked',
        );
    } catch (e) {
      // A database hiccup is not the client's fault: keep everything until the next heartbeat asks again.
      this.log.warn({ err: e }, 'websocket: could not re-authorize the connection');
    }
  }

  /** Ends a subscription the client did not ask to end, telling it why. */
  private end(topic: Topic, reason: UnsubscribeReason): void {
    this.grants.delete(topic);
    this.deps.hub.leave(this, topic);
    this.reply({ type: 'unsubscribed', topic, reason, message: revocationMessage(reason, 'subscription') });
  }

  close(code: number, reason: string): void {
    if (code === 1001) this.deps.metrics.wsDisconnects.inc({ reason: 'shutdown' });
    this.closed = true;
    this.deps.hub.remove(this);
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING)
      this.socket.close(code, reason);
  }

  private reply(message: ServerMessage): void {
    this.sendFrame(Buffer.from(encode(message)));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.reply(new ProtocolError('invalid_json', 'messages are JSON text frames, not binary').toMessage());
      return;
    }
    if (this.pending >= this.deps.limits.maxPending) {
      this.reply(
        new ProtocolError(
          'too_many_requests',
          `more than ${this.deps.limits.maxPending} requests are waiting for an answer`,
        ).toMessage(),
      );
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    this.pending++;
    this.queue = this.queue
      .then(() => this.handle(text))
      .finally(() => {
        this.pending--;
      });
  }

  private async handle(text: string): Promise<void> {
    try {
      const message = parseClientMessage(text);
      await this.dispatch(message);
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.reply(e.toMessage());
        return;
      }
      this.log.error({ err: e, userId: this.principal.userId }, 'websocket: request failed');
      const id = /"id"\s*:\s*"([^"]{1,64})"/.exec(text)?.[1];
      this.reply({ type: 'error', code: 'internal', message: 'internal error', ...(id ? { id } : {}) });
    }
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    const { hub, catalog, access, limits } = this.deps;
    switch (message.type) {
      case 'ping':
        this.reply({ type: 'pong', ...idOf(message) });
        return;
      case 'subscribe': {
        if (!this.topics.has(message.topic as Topic)) {
          if (this.topics.size >= limits.maxSubscriptions) {
            throw new ProtocolError(
              'too_many_subscriptions',
              `a connection may hold at most ${limits.maxSubscriptions} subscriptions`,
              message.id,
              message.topic,
            );
          }
          const { topic, workspaceId, permission } = await authorizeTopic(
            catalog.resolvers,
            access,
            this.principal,
            message.topic,
            message.id,
          );
          // Closed while the check ran: joining now would leave a subscription nobody removes.
          if (this.closed) return;
          this.grants.set(topic, { workspaceId, permission });
          await hub.join(this, topic);
        }
        this.reply({ type: 'subscribed', topic: message.topic, ...idOf(message) });
        return;
      }
      case 'unsubscribe': {
        if (!parseTopic(message.topic))
          throw new ProtocolError(
            'invalid_topic',
            'a topic is <kind>:<id>, e.g. job:job_01J…',
            message.id,
            message.topic,
          );
        hub.leave(this, message.topic as Topic);
        this.grants.delete(message.topic as Topic);
        this.reply({ type: 'unsubscribed', topic: message.topic, ...idOf(message) });
        return;
      }
      case 'status': {
        const { kind, id, workspaceId, topic } = await authorizeTopic(
          catalog.resolvers,
          access,
          this.principal,
          message.topic,
          message.id,
        );
        const read = catalog.status.get(kind);
        if (!read)
          throw new ProtocolError(
            'unknown_topic',
            `'${kind}' topics have no status; subscribe to them instead`,
            message.id,
            topic,
          );
        const data = await read(workspaceId, id);
        if (data === null || data === undefined)
          throw new ProtocolError('not_found', `${topic} does not exist`, message.id, topic);
        this.reply({ type: 'status', topic, data, ...idOf(message) });
        return;
      }
    }
  }
}
