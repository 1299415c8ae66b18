import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * The WebSocket protocol of `GET /api/v1/ws`, shared by the server, the CLI and the dashboard. Every message is
 * one JSON text frame. A client message may carry an `id` (any string up to 64 characters) that the answer to
 * it repeats, so a client can match answers to requests; events carry no `id`.
 *
 * Client → server
 *   {type:'subscribe',   topic, id?}   start receiving the topic's events      → subscribed | error
 *   {type:'unsubscribe', topic, id?}   stop (answered even if not subscribed)  → unsubscribed
 *   {type:'status',      topic, id?}   current state of `job:<id>` / `dataset:<id>` → status | error
 *   {type:'ping',        id?}          application-level liveness check        → pong
 *
 * Server → client
 *   {type:'event', topic, event, data, ts}   one bus event: `event` is its type (`job.progress`, `job.state`,
 *                                            …), `data` its payload, `ts` when it was published (ISO 8601 UTC)
 *   {type:'subscribed'|'unsubscribed', topic, id?}
 *   {type:'unsubscribed', topic, reason, message}
 *                                            the server ended a subscription itself: the caller's access to it
 *                                            was taken away (`reason`: UnsubscribeReason); no more events follow
 *   {type:'status', topic, data, id?}        `data` is the Job or the Dataset as the REST API returns it
 *   {type:'pong', id?}
 *   {type:'error', code, message, id?, topic?}
 *
 * Topics: `job:<id>`, `dataset:<id>`, `upload:<id>`, `model:<id>`, `workspace:<id>`. A topic of another workspace and a topic of an
 * object that does not exist get the same `not_found`, so subscribing never reveals what exists elsewhere.
 *
 * Nothing a client sends closes its connection except a frame over 64 KiB (close 1009). Close codes the server
 * uses: 1001 server shutting down, 1013 "slow consumer" (the client did not read fast enough; reconnect and
 * ask for `status`), 4401 the credentials expired or were revoked (each subscription is first ended with
 * `unsubscribed`, reason `credentials_revoked`). The server pings every WEIR_WS_HEARTBEAT_MS (30 s); a client that
 * has not answered the previous ping with a pong (every WebSocket library does automatically) is disconnected.
 * Subscriptions are authorized again on every heartbeat and at once when a membership, role, API key, session or
 * workspace network rule changes.
 */

const Id = Type.String({ minLength: 1, maxLength: 64 });
const TopicString = Type.String({ minLength: 1, maxLength: 200 });

export const SubscribeMessage = Type.Object(
  { type: Type.Literal('subscribe'), topic: TopicString, id: Type.Optional(Id) },
  { additionalProperties: false },
);
export const UnsubscribeMessage = Type.Object(
  { type: Type.Literal('unsubscribe'), topic: TopicString, id: Type.Optional(Id) },
  { additionalProperties: false },
);
export const StatusMessage = Type.Object(
  { type: Type.Literal('status'), topic: TopicString, id: Type.Optional(Id) },
  { additionalProperties: false },
);
export const PingMessage = Type.Object(
  { type: Type.Literal('ping'), id: Type.Optional(Id) },
  { additionalProperties: false },
);

export const ClientMessageSchema = Type.Union([SubscribeMessage, UnsubscribeMessage, StatusMessage, PingMessage]);
export type ClientMessage = Static<typeof ClientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];

export type ErrorCode =
  /** The frame is not JSON. */
  | 'invalid_json'
  /** JSON, but not an object with a known `type`. */
  | 'unknown_type'
  /** A known `type` with missing, extra or mistyped fields. */
  | 'invalid_message'
  /** `topic` is not `<kind>:<id>`. */
  | 'invalid_topic'
  /** A well-formed topic of a kind nothing publishes yet (`upload:`, `model:`), or `status` of a `workspace:` topic. */
  | 'unknown_topic'
  /** No such object, or it belongs to a workspace the caller is not in. */
  | 'not_found'
  /** The caller is in the object's workspace but its role lacks the permission. */
  | 'forbidden'
  | 'too_many_subscriptions'
  /** More requests in flight on this connection than the server queues. */
  | 'too_many_requests'
  | 'internal';

/** Why the server ended a subscription the client did not ask to end. */
export type UnsubscribeReason =
  /** Membership, role, the API key's scopes or the workspace's network rules no longer allow watching the topic. */
  | 'access_revoked'
  /** The session or API key itself is no longer valid: the connection closes next (4401). */
  | 'credentials_revoked';

export type ServerMessage =
  | { type: 'event'; topic: string; event: string; data: unknown; ts: string }
  | { type: 'subscribed'; topic: string; id?: string }
  /** With `id`: the answer to an `unsubscribe`; with `reason` and `message`: the server ended the subscription. */
  | { type: 'unsubscribed'; topic: string; id?: string; reason?: UnsubscribeReason; message?: string }
  | { type: 'status'; topic: string; data: unknown; id?: string }
  | { type: 'pong'; id?: string }
  | { type: 'error'; code: ErrorCode; message: string; id?: string; topic?: string };

/** An `error` message, with the request's `id` (and `topic`) when they could be read. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly requestId?: string,
    readonly topic?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }

  toMessage(): ServerMessage {
    return {
      type: 'error',
      code: this.code,
      message: this.message,
      ...(this.requestId !== undefined ? { id: this.requestId } : {}),
      ...(this.topic !== undefined ? { topic: this.topic } : {}),
    };
  }
}

// One validator per message type: once `type` is known, errors name the field at fault instead of every union branch.
const VALIDATORS = {
  subscribe: Compile(SubscribeMessage),
  unsubscribe: Compile(UnsubscribeMessage),
  status: Compile(StatusMessage),
  ping: Compile(PingMessage),
} as const;

function describeError(errors: { keyword: string; instancePath: string; params: object; message: string }[]): string {
  const first = errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
  if (!first) return 'does not match the protocol';
  const params = first.params as { additionalProperties?: string[]; requiredProperties?: string[] };
  if (first.keyword === 'additionalProperties' && params.additionalProperties)
    return `unknown field(s) ${params.additionalProperties.join(', ')}`;
  if (first.keyword === 'required' && params.requiredProperties)
    return `missing field(s) ${params.requiredProperties.join(', ')}`;
  return `${first.instancePath.slice(1) || 'message'} ${first.message}`;
}

/** Parses one text frame; throws a ProtocolError saying what is wrong, carrying the `id` when there is one. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('invalid_json', 'the message is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProtocolError('unknown_type', 'a message is a JSON object with a "type"');
  const record = value as Record<string, unknown>;
  const id = typeof record.id === 'string' && record.id.length <= 64 ? record.id : undefined;
  const topic = typeof record.topic === 'string' && record.topic.length <= 200 ? record.topic : undefined;
  const type = record.type;
  if (typeof type !== 'string' || !Object.hasOwn(VALIDATORS, type)) {
    throw new ProtocolError('unknown_type', `"type" must be one of ${Object.keys(VALIDATORS).join(', ')}`, id);
  }
  const validator = VALIDATORS[type as ClientMessageType];
  if (!validator.Check(value))
    throw new ProtocolError(
      'invalid_message',
      `invalid "${type}" message: ${describeError(validator.Errors(value))}`,
      id,
      topic,
    );
  return value as ClientMessage;
}

/** Serialized once and sent as-is: the same bytes go to every subscriber of a topic. */
export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}
