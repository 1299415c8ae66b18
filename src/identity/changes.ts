import type { EventBus, InternalTopic } from '../bus/types.js';
import type { Log } from '../logger.js';

/**
 * Changes that can take away what an open WebSocket or SSE stream was allowed to watch. The identity service
 * publishes one after each such write has committed; every API process re-authorizes the affected streams at once
 * instead of at their next heartbeat. The heartbeat recheck stays as the safety net for changes that bypass the
 * service (an operator's SQL) and for events the bus drops.
 */
export type IdentityChange =
  | { kind: 'member.removed' | 'member.role_changed'; workspaceId: string; userId: string }
  | { kind: 'apikey.revoked'; workspaceId: string; apiKeyId: string }
  | { kind: 'session.revoked'; sessionId: string }
  | { kind: 'user.sessions_revoked' | 'user.disabled'; userId: string }
  | { kind: 'workspace.network_rules_changed'; workspaceId: string };

export const IDENTITY_CHANGES: InternalTopic = 'internal:identity';
const EVENT_TYPE = 'identity.changed';

/** Who holds a stream: the principal it authenticated as (a key's `userId` is its creator). */
export interface StreamHolder {
  userId: string;
  apiKeyId: string | null;
  sessionId: string | null;
}

/**
 * Might this change take anything away from this holder? `workspaces`: the workspaces the stream watches
 * something in. Errs towards true: a recheck that finds nothing changed costs one lookup.
 */
export function affects(change: IdentityChange, holder: StreamHolder, workspaces: ReadonlySet<string>): boolean {
  switch (change.kind) {
    case 'member.removed':
    case 'member.role_changed':
    case 'user.sessions_revoked':
    case 'user.disabled':
      // Keys act for their creator, so the creator's changes reach the key's streams too.
      return holder.userId === change.userId;
    case 'apikey.revoked':
      return holder.apiKeyId === change.apiKeyId;
    case 'session.revoked':
      return holder.sessionId === change.sessionId;
    case 'workspace.network_rules_changed':
      return workspaces.has(change.workspaceId);
  }
}

/** The fields each kind carries: what `parseIdentityChange` insists on. */
const REQUIRED: Record<IdentityChange['kind'], readonly ('workspaceId' | 'userId' | 'apiKeyId' | 'sessionId')[]> = {
  'member.removed': ['workspaceId', 'userId'],
  'member.role_changed': ['workspaceId', 'userId'],
  'apikey.revoked': ['workspaceId', 'apiKeyId'],
  'session.revoked': ['sessionId'],
  'user.sessions_revoked': ['userId'],
  'user.disabled': ['userId'],
  'workspace.network_rules_changed': ['workspaceId'],
};

/** The change an event carries, or null for anything else (it may come from another node, over Redis). */
export function parseIdentityChange(type: string, data: unknown): IdentityChange | null {
  if (type !== EVENT_TYPE || typeof data !== 'object' || data === null) return null;
  const record = data as Record<string, unknown>;
  const kind = record.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(REQUIRED, kind)) return null;
  return REQUIRED[kind as IdentityChange['kind']].every((f) => typeof record[f] === 'string')
    ? (record as unknown as IdentityChange)
    : null;
}

export interface IdentityChangePublisher {
  /** Resolves once the bus has the change (with Redis: once Redis took it); never rejects. */
  publish(change: IdentityChange): Promise<void>;
}

/** The offline CLI (`weir admin`) has no bus and no open streams to tell. */
export const NO_CHANGE_PUBLISHER: IdentityChangePublisher = { publish: () => Promise.resolve() };

export function busChangePublisher(bus: EventBus, log: Log): IdentityChangePublisher {
  return {
    publish: (change) =>
      bus
        .publish(IDENTITY_CHANGES, EVENT_TYPE, change)
        .catch((err: unknown) =>
          log.warn({ err, change }, 'identity change not published; open streams learn of it at their next heartbeat'),
        ),
  };
}
