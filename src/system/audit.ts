import type { Db } from '../db/index.js';
import { toIso } from '../db/values.js';
import { newId } from '../ids.js';
import type { Log } from '../logger.js';

/**
 * The audit log: who did what, where, to what, from which address, and how it ended. Rows are only ever
 * inserted (a database trigger refuses updates); no API changes or deletes them.
 */

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditEntry {
  workspaceId: string | null;
  actorType: 'user' | 'apiKey' | 'anonymous' | 'system';
  actorId: string | null;
  apiKeyId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: AuditOutcome;
  statusCode: number | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditEvent extends AuditEntry {
  id: string;
  at: string;
}

export interface AuditQuery {
  /** Null = every workspace (instance admins only; enforced by the route). */
  workspaceId: string | null;
  action?: string;
  actorId?: string;
  targetId?: string;
  outcome?: AuditOutcome;
  since?: string;
  until?: string;
  limit: number;
  offset: number;
}

export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly log: Log,
  ) {}

  /** Never throws: a failed audit write is logged as an error rather than failing the request it describes. */
  async record(entry: AuditEntry, now = new Date()): Promise<void> {
    try {
      await this.db
        .insertInto('audit_events')
        .values({
          id: newId('aud', now.getTime()),
          at: now.toISOString(),
          workspace_id: entry.workspaceId,
          actor_type: entry.actorType,
          actor_id: entry.actorId,
          api_key_id: entry.apiKeyId,
          action: entry.action,
          target_type: entry.targetType,
          target_id: entry.targetId,
          outcome: entry.outcome,
          status_code: entry.statusCode,
          ip: entry.ip,
          user_agent: entry.userAgent?.slice(0, 512) ?? null,
          request_id: entry.requestId,
          detail_json: entry.detail ? JSON.stringify(entry.detail) : null,
        })
        .execute();
    } catch (e) {
      this.log.error({ err: e, action: entry.action }, 'audit write failed');
    }
  }

  async list(q: AuditQuery): Promise<{ items: AuditEvent[]; total: number }> {
    let query = this.db.selectFrom('audit_events');
    if (q.workspaceId !== null) query = query.where('workspace_id', '=', q.workspaceId);
    if (q.action)
      query = q.action.endsWith('.*')
        ? query.where('action', 'like', `${q.action.slice(0, -1).replace(/[%_]/g, '')}%`)
        : query.where('action', '=', q.action);
    if (q.actorId) query = query.where('actor_id', '=', q.actorId);
    if (q.targetId) query = query.where('target_id', '=', q.targetId);
    if (q.outcome) query = query.where('outcome', '=', q.outcome);
    if (q.since) query = query.where('at', '>=', q.since);
    if (q.until) query = query.where('at', '<', q.until);
    const [rows, count] = await Promise.all([
      query.selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset).execute(),
      query.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return {
      total: Number(count.n),
      items: rows.map((r) => ({
        id: r.id,
        at: toIso(r.at),
        workspaceId: r.workspace_id,
        actorType: r.actor_type as AuditEntry['actorType'],
        actorId: r.actor_id,
        apiKeyId: r.api_key_id,
        action: r.action,
        targetType: r.target_type,
        targetId: r.target_id,
        outcome: r.outcome as AuditOutcome,
        statusCode: r.status_code,
        ip: r.ip,
        userAgent: r.user_agent,
        requestId: r.request_id,
        detail: r.detail_json ? (JSON.parse(r.detail_json) as Record<string, unknown>) : null,
      })),
    };
  }
}
