import { createConnection, isIP } from 'node:net';
import { PassThrough } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { MqttClient, type IPublishPacket, type IStream, type Packet } from 'mqtt';
import type { Log } from '../../logger.js';
import { checkedLookup, refusedLiteral, type NetworkPolicy } from '../outbound.js';
import { mqttSourceConfigErrors, subscriptionFilters, type MqttSourceConfig } from './mqtt-config.js';
import { parseMqttPayload, type MqttPayloadOptions } from './mqtt-payload.js';
import type { RecordSink, RejectedInput, SourceRecord, StreamSource } from './types.js';

export { mqttSourceConfigErrors, subscriptionFilters, topicFilterError, type MqttSourceConfig } from './mqtt-config.js';
export { parseMqttPayload, MQTT_PAYLOAD_MAX_BYTES } from './mqtt-payload.js';
export type { MqttPayloadFormat, MqttPayloadOptions } from './mqtt-payload.js';

/**
 * An MQTT subscription as a stream source, at least once: QoS 1 on a persistent session, and a message's PUBACK is
 * sent only once the sink has made it durable. Until then the broker keeps the message and redelivers it to the
 * next connection of the session (or of the share group), so a crash between receipt and durability loses nothing;
 * the redelivered copies are dropped downstream by key.
 */

export type MqttSourceStatus = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export interface MqttSourceCounters {
  /** Messages accepted from the broker (records and rejected payloads). */
  received: number;
  /** Payloads that were not a record. */
  rejected: number;
  /** QoS 1 messages acknowledged to the broker after their batch was durable. */
  acked: number;
}

export interface MqttSourceOptions {
  log: Log;
  /** Where the broker may be: checked at every (re)connection, as for HTTP sources (outbound.ts). */
  network: NetworkPolicy;
  onStatus?: (status: MqttSourceStatus, detail?: { error?: string }) => void;
  /** Messages per sink.append (group commit). */
  batchMax?: number;
  /**
   * How long the first message of a batch waits for others before the batch is committed, ms. 0 (the default): the
   * batch is committed once the packets of the current read are in it, and what arrives while it commits forms the
   * next one (group commit without a timer: a broker's in-flight window, 20 messages on a default Mosquitto, would
   * otherwise cap throughput at window / linger).
   */
  lingerMs?: number;
  /** Bytes; larger payloads are rejected. */
  maxPayloadBytes?: number;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
  /** How long the broker keeps the session (and queues messages for it) while no node is connected, seconds. */
  sessionExpirySeconds?: number;
}

const DEFAULT_BATCH_MAX = 1000;
const DEFAULT_LINGER_MS = 0;
const DEFAULT_SESSION_EXPIRY_S = 24 * 3600;
/**
 * The most unacknowledged QoS 1 messages the broker may send us (MQTT v5 Receive Maximum, the protocol's maximum).
 * The batches bound what is really in flight (two batches: one committing, one filling); this only keeps the broker
 * from throttling the pipeline below that.
 */
const RECEIVE_MAXIMUM = 65535;

/** Records of one connection, committed by one sink.append; its PUBACKs are sent when that resolves. */
interface Batch {
  /** The connection the messages came on: a packet id only means something on its own connection. */
  epoch: number;
  records: SourceRecord[];
  rejected: RejectedInput[];
  pubacks: Packet[];
}

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: unknown, noStore?: boolean) => void;

export class MqttSource implements StreamSource {
  private readonly config: MqttSourceConfig;
  private readonly options: MqttSourceOptions;
  private readonly payloadOptions: MqttPayloadOptions;
  private readonly batchMax: number;
  private client: MqttClient | null = null;
  private sendPacket: SendPacket | null = null;
  private sink: RecordSink | null = null;
  private state: MqttSourceStatus = 'stopped';
  private readonly stats: MqttSourceCounters = { received: 0, rejected: 0, acked: 0 };
  /** Bumped when a connection closes: batches of an older epoch are appended but never acknowledged. */
  private epoch = 0;
  private filling: Batch;
  private committing: Promise<void> | null = null;
  private lingerTimer: { cancel(): void } | null = null;
  /** The one packet held while both batches are full (MQTT.js hands over one packet at a time). */
  private held: (() => void) | null = null;
  /** Set while MQTT.js answers the packet being accepted: its PUBACK goes to this batch instead of the wire. */
  private ackInto: Batch | 'drop' | null = null;
  private stopping = false;
  private lastClientError: string | null = null;

  constructor(config: MqttSourceConfig, options: MqttSourceOptions) {
    const problems = mqttSourceConfigErrors(config);
    if (problems.length > 0) throw new Error(`invalid MQTT source: ${problems.join('; ')}`);
    this.config = config;
    this.options = options;
    this.batchMax = options.batchMax ?? DEFAULT_BATCH_MAX;
    this.payloadOptions = {
      format: config.payload,
      ...(config.keyField !== undefined && { keyField: config.keyField }),
      ...(config.timestampField !== undefined && { timestampField: config.timestampField }),
      ...(options.maxPayloadBytes !== undefined && { maxBytes: options.maxPayloadBytes }),
    };
    this.filling = this.newBatch();
  }

  get status(): MqttSourceStatus {
    return this.state;
  }

  get counters(): MqttSourceCounters {
    return { ...this.stats };
  }

  /**
   * Connects, subscribes, and resolves once the subscriptions are in place; rejects (and is stopped) when that first
   * attempt fails, so the caller decides how to retry. Later connection losses reconnect by themselves.
   */
  async start(sink: RecordSink): Promise<void> {
    if (this.client !== null) throw new Error('MQTT source already started');
    this.sink = sink;
    this.stopping = false;
    const client = new MqttClient(this.streamBuilder(), {
      clientId: this.config.clientId,
      protocolVersion: 5,
      clean: false,
      properties: {
        sessionExpiryInterval: this.options.sessionExpirySeconds ?? DEFAULT_SESSION_EXPIRY_S,
        receiveMaximum: RECEIVE_MAXIMUM,
      },
      reconnectPeriod: this.options.reconnectPeriodMs ?? 1000,
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
      manualConnect: true,
      ...(this.config.username !== undefined && { username: this.config.username }),
      ...(this.config.password !== undefined && { password: this.config.password }),
    });
    this.client = client;
    this.deferPubacks(client);
    client.handleMessage = (packet, callback) => this.onPublish(packet, callback);
    client.on('close', () => this.onClose());
    client.on('reconnect', () => this.setStatus('reconnecting'));
    client.on('error', (e) => this.logClientError(e));
    this.setStatus('connecting');

    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (error: Error | null): void => {
          client.off('connect', onConnect);
          client.off('error', onError);
          client.off('close', onClose);
          if (error === null) resolve();
          else reject(error);
        };
        const onConnect = (): void => settle(null);
        const onError = (e: Error): void => settle(e);
        // A broker that accepts TCP but never answers: MQTT.js closes after connectTimeout without an error.
        const onClose = (): void => settle(new Error('the connection closed before the broker accepted it'));
        client.on('error', onError);
        client.on('connect', onConnect);
        client.on('close', onClose);
        client.connect();
      });
      const granted = await client.subscribeAsync(subscriptionFilters(this.config), {
        qos: this.config.qos,
        // Retained messages only for a subscription that is new, not again on every restart of a persistent session.
        rh: 1,
      });
      const refused = granted.filter((g) => g.qos >= 0x80);
      if (refused.length > 0) {
        throw new Error(`subscription refused: ${refused.map((g) => `${g.topic} (reason ${g.qos})`).join(', ')}`);
      }
    } catch (e) {
      this.client = null;
      await client.endAsync(true).catch(() => undefined);
      this.setStatus('stopped', e instanceof Error ? e.message : String(e));
      throw e;
    }
    client.on('connect', () => {
      this.lastClientError = null;
      this.setStatus('connected');
    });
    this.setStatus('connected');
  }

  /**
   * The broker connection, made by us rather than by MQTT.js so that each (re)connection goes through the network
   * policy: a refused address literal fails before connecting, a host name on the addresses the socket will use.
   */
  private streamBuilder(): () => IStream {
    const url = new URL(this.config.url);
    const secure = url.protocol === 'mqtts:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (secure ? 8883 : 1883));
    const policy = this.options.network;
    const lookup = checkedLookup(policy);
    return () => {
      const refused = refusedLiteral(policy, host);
      if (refused) {
        // MQTT.js wants a stream: one that fails at once goes through its usual error and reconnect path.
        const failed = new PassThrough();
        process.nextTick(() => failed.destroy(refused));
        return failed;
      }
      if (!secure) return createConnection({ host, port, lookup });
      return tlsConnect({ host, port, lookup, ...(isIP(host) === 0 && { servername: host }) });
    };
  }

  /**
   * Stops taking messages, makes the batches in flight durable and acknowledges them, then disconnects.
   *
   * Alone, the session is kept, so the broker queues what is published meanwhile for the next start. In a share group
   * the session is ended instead: Mosquitto (2.0) keeps handing an offline member its round-robin share, queued
   * until it returns, so a member that stops for good must leave the group for the others to get everything. It
   * unsubscribes first and takes what was already on its way, so ending the session discards nothing unacked.
   */
  async stop(): Promise<void> {
    const client = this.client;
    if (client === null) return;
    const leaveGroup = Boolean(this.config.shared);
    if (leaveGroup && client.connected) {
      await client.unsubscribeAsync(subscriptionFilters(this.config)).catch((e: unknown) => {
        this.options.log.warn(
          { mqttError: e instanceof Error ? e.message : String(e) },
          'mqtt source: unsubscribe failed',
        );
      });
    }
    // Leaving the group, what came before the UNSUBACK is still taken: an unacked message of a session that ends is
    // discarded by Mosquitto, not handed to another member. Staying, it is left unacked for the next start.
    if (leaveGroup) await this.drain();
    this.stopping = true;
    this.releaseHeld();
    await this.drain();
    await client.endAsync(false, leaveGroup ? { properties: { sessionExpiryInterval: 0 } } : {}).catch(() => undefined);
    this.client = null;
    this.setStatus('stopped');
  }

  /** Commits the filling batch and waits until no commit is in flight. */
  private async drain(): Promise<void> {
    this.flush();
    while (this.committing !== null) {
      await this.committing;
      this.flush();
    }
  }

  /**
   * Drops the connection at once without acknowledging anything in flight, as a crash would (the broker redelivers
   * it); for forced shutdown and the tests that simulate kill -9.
   */
  abort(): void {
    const client = this.client;
    if (client === null) return;
    this.stopping = true;
    this.client = null;
    this.onClose();
    client.stream.destroy();
    client.end(true);
    this.setStatus('stopped');
  }

  /**
   * MQTT.js answers a QoS 1 PUBLISH by writing the PUBACK as soon as handleMessage calls back, and it takes the next
   * packet only after that. Calling back at once keeps the parser going; the PUBACK it then sends is caught here and
   * parked in the message's batch until the sink has made the batch durable (test/connectors-mqtt.test.ts pins it).
   */
  private deferPubacks(client: MqttClient): void {
    const internals = client as unknown as { _sendPacket: SendPacket };
    const send = internals._sendPacket.bind(client);
    this.sendPacket = send;
    internals._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd !== 'puback' || this.ackInto === null) {
        send(packet, cb, cbStorePut, noStore);
        return;
      }
      if (this.ackInto !== 'drop') this.ackInto.pubacks.push(packet);
      cb?.();
    };
  }

  private onPublish(packet: IPublishPacket, callback: (err?: Error) => void): void {
    const epoch = this.epoch;
    const accept = (): void => this.accept(packet, callback, epoch);
    const full = this.filling.records.length + this.filling.rejected.length >= this.batchMax;
    if (!this.stopping && this.committing !== null && full) {
      this.held = accept;
      return;
    }
    accept();
  }

  private accept(packet: IPublishPacket, callback: (err?: Error) => void, epoch: number): void {
    const batch = this.filling;
    // A packet MQTT.js still had queued from a connection that has closed is not taken either.
    if (this.stopping || epoch !== this.epoch || this.client?.connected !== true) {
      // Not taken: unacknowledged, so the broker sends it again to the session's next connection.
      this.ackInto = 'drop';
      try {
        callback();
      } finally {
        this.ackInto = null;
      }
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const parsed = parseMqttPayload(packet.topic, payload, this.payloadOptions);
    this.stats.received += 1;
    if ('reason' in parsed) {
      this.stats.rejected += 1;
      batch.rejected.push(parsed);
    } else {
      batch.records.push(parsed);
    }
    this.ackInto = batch;
    try {
      callback();
    } finally {
      this.ackInto = null;
    }
    if (batch.records.length + batch.rejected.length >= this.batchMax) this.flush();
    else this.lingerTimer ??= this.linger();
  }

  /** Commits the filling batch after the linger time, or right after the packets of the current read (0). */
  private linger(): { cancel(): void } {
    const ms = this.options.lingerMs ?? DEFAULT_LINGER_MS;
    if (ms > 0) {
      const timer = setTimeout(() => this.flush(), ms);
      return { cancel: () => clearTimeout(timer) };
    }
    const immediate = setImmediate(() => this.flush());
    return { cancel: () => clearImmediate(immediate) };
  }

  /** Starts committing the filling batch, unless a commit is in flight (its end commits what filled meanwhile). */
  private flush(): void {
    if (this.lingerTimer !== null) {
      this.lingerTimer.cancel();
      this.lingerTimer = null;
    }
    const batch = this.filling;
    if (this.committing !== null || batch.records.length + batch.rejected.length === 0) return;
    this.filling = this.newBatch();
    this.committing = this.commit(batch).finally(() => {
      this.committing = null;
      this.flush();
      this.releaseHeld();
    });
  }

  private async commit(batch: Batch): Promise<void> {
    const sink = this.sink;
    if (sink === null) return;
    try {
      await sink.append(batch.records, batch.rejected);
    } catch (e) {
      // Nothing of this batch is acknowledged: dropping the connection makes the broker redeliver all of it (unless
      // its connection is gone already, and the redelivery under way).
      this.options.log.error(
        { err: e, records: batch.records.length },
        'mqtt source: sink failed, reconnecting for redelivery',
      );
      if (batch.epoch === this.epoch) this.dropConnection();
      return;
    }
    const client = this.client;
    const send = this.sendPacket;
    if (client === null || batch.epoch !== this.epoch || !client.connected || send === null) return;
    // One write for the whole batch's PUBACKs instead of a syscall each.
    client.stream.cork();
    try {
      for (const puback of batch.pubacks) send(puback);
    } finally {
      client.stream.uncork();
    }
    this.stats.acked += batch.pubacks.length;
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = null;
    held?.();
  }

  private dropConnection(): void {
    this.onClose();
    this.client?.stream.destroy();
  }

  /** A closed connection's packet ids are void: its unacked messages come again on the next one. */
  private onClose(): void {
    this.epoch += 1;
    this.filling = this.newBatch();
    if (this.lingerTimer !== null) {
      this.lingerTimer.cancel();
      this.lingerTimer = null;
    }
    this.releaseHeld();
    if (!this.stopping && this.client !== null && this.state !== 'connecting') this.setStatus('reconnecting');
  }

  /** Once per distinct error while it repeats: a broker that is down fails every reconnect the same way. */
  private logClientError(e: Error): void {
    if (e.message === this.lastClientError) return;
    this.lastClientError = e.message;
    // Only the message: the client's options (with the password) never reach a log line.
    this.options.log.warn({ mqttError: e.message }, 'mqtt source: client error');
  }

  private newBatch(): Batch {
    return { epoch: this.epoch, records: [], rejected: [], pubacks: [] };
  }

  private setStatus(status: MqttSourceStatus, error?: string): void {
    if (status === this.state && error === undefined) return;
    this.state = status;
    this.options.onStatus?.(status, error === undefined ? undefined : { error });
  }
}
