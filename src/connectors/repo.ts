import type { Db } from '../db/index.js';
import { containsInAnyCase } from '../db/filters.js';
import type { ConnectorsTable, Database } from '../db/types.js';
import { isoOrNull, toIso } from '../db/values.js';
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { ConnectorType, StoredConnector, Sync } from './model.js';

/** A page of a workspace's connectors: `name` exactly, `search` within names in any case. */
export interface ConnectorListFilter {
  workspaceId: string;
  limit: number;
  offset: number;
  type?: ConnectorType;
  name?: string;
  search?: string;
}

function fromRow(r: Selectable<ConnectorsTable>): StoredConnector {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    description: r.description,
    type: r.type as ConnectorType,
    config: JSON.parse(r.config_json) as Record<string, unknown>,
    secretsSealed: r.secrets_sealed,
    fields: JSON.parse(r.fields_json) as StoredConnector['fields'],
    safety: JSON.parse(r.safety_json) as StoredConnector['safety'],
    live: JSON.parse(r.live_json) as StoredConnector['live'],
    schedule: r.schedule,
    datasetId: r.dataset_id,
    state: r.state as StoredConnector['state'],
    pausedReason: r.paused_reason,
    cursor: r.cursor,
    consecutiveFailures: r.consecutive_failures,
    lastSyncAt: isoOrNull(r.last_sync_at),
    lastSuccessAt: isoOrNull(r.last_success_at),
    lastRecordAt: isoOrNull(r.last_record_at),
    lastError: r.last_error,
    stale: Boolean(r.stale),
    pushKeyHash: r.push_key_hash,
    createdBy: r.created_by,
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  };
}

/** The only code that touches the connector tables (the live tables are src/live/repo.ts's). */
export class ConnectorRepo {
  constructor(private readonly db: Db) {}

  /** `trx`: the transaction that creates the connector's live dataset with it. */
  async insert(c: StoredConnector, trx: Kysely<Database> = this.db): Promise<void> {
    await trx
      .insertInto('connectors')
      .values({
        id: c.id,
        workspace_id: c.workspaceId,
        name: c.name,
        description: c.description,
        type: c.type,
        config_json: JSON.stringify(c.config),
        secrets_sealed: c.secretsSealed,
        fields_json: JSON.stringify(c.fields),
        safety_json: JSON.stringify(c.safety),
        live_json: JSON.stringify(c.live),
        schedule: c.schedule,
        dataset_id: c.datasetId,
        state: c.state,
        paused_reason: c.pausedReason,
        cursor: c.cursor,
        consecutive_failures: 0,
        stale: 0,
        push_key_hash: c.pushKeyHash,
        created_by: c.createdBy,
        created_at: c.createdAt,
        updated_at: c.updatedAt,
      })
      .execute();
  }

  async get(workspaceId: string, id: string): Promise<StoredConnector | null> {
    const r = await this.db
      .selectFrom('connectors')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? fromRow(r) : null;
  }

  /** By id alone: the runtime and the push endpoint, which check the workspace themselves. */
  async byId(id: string): Promise<StoredConnector | null> {
    const r = await this.db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRow(r) : null;
  }

  async byDataset(datasetId: string): Promise<{ id: string; name: string } | null> {
    const r = await this.db
      .selectFrom('connectors')
      .select(['id', 'name'])
      .where('dataset_id', '=', datasetId)
      .executeTakeFirst();
    return r ?? null;
  }

  async all(): Promise<StoredConnector[]> {
    return (await this.db.selectFrom('connectors').selectAll().orderBy('id').execute()).map(fromRow);
  }

  async list(q: ConnectorListFilter): Promise<{ items: StoredConnector[]; total: number }> {
    let base = this.db.selectFrom('connectors').where('workspace_id', '=', q.workspaceId);
    if (q.type) base = base.where('type', '=', q.type);
    if (q.name) base = base.where('name', '=', q.name);
    if (q.search) base = base.where(containsInAnyCase('name', q.search));
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(fromRow), total: Number(count.n) };
  }

  async update(
    id: string,
    patch: Omit<Updateable<ConnectorsTable>, 'id' | 'workspace_id' | 'created_at'>,
  ): Promise<void> {
    await this.db
      .updateTable('connectors')
      .set({ ...patch, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('connectors').where('id', '=', id).execute();
  }

  /** Marks a connector stale (or fresh again); true for the one process (of a cluster) whose update changed it. */
  async markStale(id: string, stale: boolean): Promise<boolean> {
    const r = await this.db
      .updateTable('connectors')
      .set({ stale: stale ? 1 : 0 })
      .where('id', '=', id)
      .where('stale', '=', stale ? 0 : 1)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Claims a schedule's fire time for this process; false when another process claimed it first. */
  async claimFire(connectorId: string, scheduledFor: string): Promise<boolean> {
    const r = await this.db
      .insertInto('connector_fires')
      .values({ connector_id: connectorId, scheduled_for: scheduledFor, claimed_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['connector_id', 'scheduled_for']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async pruneFires(before: string): Promise<void> {
    await this.db.deleteFrom('connector_fires').where('claimed_at', '<', before).execute();
  }

  async insertSync(s: Sync & { workspaceId: string }): Promise<void> {
    await this.db
      .insertInto('connector_syncs')
      .values({
        id: s.id,
        connector_id: s.connectorId,
        workspace_id: s.workspaceId,
        trigger: s.trigger,
        status: s.status,
        records: s.records,
        duplicates: s.duplicates,
        rejected: s.rejected,
        errors_json: JSON.stringify(s.errors),
        cursor_from: s.cursorFrom,
        cursor_to: s.cursorTo,
        started_at: s.startedAt,
        duration_ms: s.durationMs,
      })
      .execute();
  }

  async syncs(connectorId: string, limit: number, offset: number): Promise<{ items: Sync[]; total: number }> {
    const base = this.db.selectFrom('connector_syncs').where('connector_id', '=', connectorId);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return {
      items: rows.map((r) => ({
        id: r.id,
        connectorId: r.connector_id,
        trigger: r.trigger as Sync['trigger'],
        status: r.status as Sync['status'],
        records: r.records,
        duplicates: r.duplicates,
        rejected: r.rejected,
        errors: JSON.parse(r.errors_json) as Sync['errors'],
        cursorFrom: r.cursor_from,
        cursorTo: r.cursor_to,
        startedAt: toIso(r.started_at),
        durationMs: r.duration_ms,
      })),
      total: Number(count.n),
    };
  }

  /** Keeps the newest `keep` syncs of a connector (the history is bounded, like the job table). */
  async pruneSyncs(connectorId: string, keep: number): Promise<void> {
    const cutoff = await this.db
      .selectFrom('connector_syncs')
      .select(['started_at', 'id'])
      .where('connector_id', '=', connectorId)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (!cutoff) return;
    await this.db
      .deleteFrom('connector_syncs')
      .where('connector_id', '=', connectorId)
      .where('id', '<=', cutoff.id)
      .execute();
  }
}
