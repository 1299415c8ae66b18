import type { Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database } from '../db/types.js';
import { toIso, toNumber } from '../db/values.js';

/** A record ready for the append log: its values already typed against the live dataset's fields. */
export interface TypedRecord {
  key: string | null;
  cursor: string | null;
  row: Record<string, string | number | boolean | null>;
}

export interface PendingRecord {
  seq: number;
  cursor: string | null;
  rowJson: string;
}

export interface Segment {
  id: string;
  connectorId: string;
  datasetId: string;
  workspaceId: string;
  firstSeq: number;
  lastSeq: number;
  rows: number;
  bytes: number;
  blobKey: string;
  cursorFrom: string | null;
  cursorTo: string | null;
  createdAt: string;
}

/** Most bound parameters one statement gets (SQLite allows 32,766; PostgreSQL 65,535). */
const MAX_PARAMS = 30_000;

/** The tables of live datasets: the append log, the dedupe keys, the segments, the compactions and the leases. */
export class LiveRepo {
  constructor(private readonly db: Db) {}

  /**
   * Appends records in one transaction: a record whose source key is already known (within the dedupe window)
   * is dropped, as is a second record with the same key in the same batch. Answers the records stored.
   */
  async append(connectorId: string, records: TypedRecord[], now: string): Promise<{ stored: TypedRecord[] }> {
    if (records.length === 0) return { stored: [] };
    return this.db.transaction().execute(async (trx) => {
      let keep = records;
      const keyed = records.filter((r) => r.key !== null);
      if (keyed.length > 0) {
        const fresh = new Set<string>();
        // Five parameters a row would be too many for a batch of 20,000: insert the keys in slices.
        for (let i = 0; i < keyed.length; i += MAX_PARAMS / 3) {
          const slice = [...new Set(keyed.slice(i, i + MAX_PARAMS / 3).map((r) => r.key!))];
          const inserted = await trx
            .insertInto('live_keys')
            .values(slice.map((k) => ({ connector_id: connectorId, source_key: k, seen_at: now })))
            .onConflict((oc) => oc.columns(['connector_id', 'source_key']).doNothing())
            .returning('source_key')
            .execute();
          for (const r of inserted) fresh.add(r.source_key);
        }
        keep = records.filter((r) => {
          if (r.key === null) return true;
          // The first record with a fresh key takes it; a later one in the same batch is a duplicate.
          return fresh.delete(r.key);
        });
      }
      for (let i = 0; i < keep.length; i += MAX_PARAMS / 4) {
        await trx
          .insertInto('live_records')
          .values(
            keep.slice(i, i + MAX_PARAMS / 4).map((r) => ({
              connector_id: connectorId,
              cursor: r.cursor,
              row_json: JSON.stringify(r.row),
              received_at: now,
            })),
          )
          .execute();
      }
      return { stored: keep };
    });
  }

  async pending(connectorId: string, limit: number): Promise<PendingRecord[]> {
    const rows = await this.db
      .selectFrom('live_records')
      .select(['seq', 'cursor', 'row_json'])
      .where('connector_id', '=', connectorId)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: toNumber(r.seq), cursor: r.cursor, rowJson: r.row_json }));
  }

  /** Connectors with records waiting longer than `olderThan` (left by any process, including a dead one). */
  async waiting(olderThan: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('live_records')
      .select('connector_id')
      .where('received_at', '<', olderThan)
      .groupBy('connector_id')
      .execute();
    return rows.map((r) => r.connector_id);
  }

  async pendingCount(connectorId: string): Promise<number> {
    const row = await this.db
      .selectFrom('live_records')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('connector_id', '=', connectorId)
      .executeTakeFirstOrThrow();
    return toNumber(row.n);
  }

  /**
   * Stores a flushed segment and removes exactly the records it holds from the append log, in one transaction:
   * a crash before the commit leaves them waiting (flushed again into a segment of the same key), after it
   * leaves them in the segment only. Deleting by the sequence numbers read, not by a range, keeps a record
   * another process committed late with a lower number out of harm's way.
   */
  async storeSegment(segment: Segment, seqs: number[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('live_segments')
        .values({
          id: segment.id,
          connector_id: segment.connectorId,
          dataset_id: segment.datasetId,
          workspace_id: segment.workspaceId,
          first_seq: segment.firstSeq,
          last_seq: segment.lastSeq,
          rows: segment.rows,
          bytes: segment.bytes,
          blob_key: segment.blobKey,
          cursor_from: segment.cursorFrom,
          cursor_to: segment.cursorTo,
          created_at: segment.createdAt,
        })
        .execute();
      for (let i = 0; i < seqs.length; i += MAX_PARAMS) {
        const deleted = await trx
          .deleteFrom('live_records')
          .where('connector_id', '=', segment.connectorId)
          .where('seq', 'in', seqs.slice(i, i + MAX_PARAMS))
          .executeTakeFirst();
        if (Number(deleted.numDeletedRows) !== Math.min(MAX_PARAMS, seqs.length - i))
          throw new Error(`segment ${segment.id}: its records were flushed by another writer`);
      }
    });
  }

  /** Segments a compaction retired before `before`: their files may go (no query can still be reading them). */
  async retiredBefore(before: string, limit = 500): Promise<{ id: string; blobKey: string }[]> {
    const rows = await this.db
      .selectFrom('live_segments')
      .select(['id', 'blob_key'])
      .where('retired_at', '<', before)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, blobKey: r.blob_key }));
  }

  /** Forgets retired segments whose files are deleted. */
  async dropRetired(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deleteFrom('live_segments').where('id', 'in', ids).where('retired_at', 'is not', null).execute();
  }

  async segments(datasetId: string): Promise<Segment[]> {
    const rows = await this.db
      .selectFrom('live_segments')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('retired_at', 'is', null)
      .orderBy('first_seq')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      connectorId: r.connector_id,
      datasetId: r.dataset_id,
      workspaceId: r.workspace_id,
      firstSeq: toNumber(r.first_seq),
      lastSeq: toNumber(r.last_seq),
      rows: r.rows,
      bytes: toNumber(r.bytes),
      blobKey: r.blob_key,
      cursorFrom: r.cursor_from,
      cursorTo: r.cursor_to,
      createdAt: toIso(r.created_at),
    }));
  }

  /**
   * Inside the compaction's version transaction: records the version's lineage and retires the segments it
   * folded in. Fails (rolling the version back) if any of them is already gone: another compaction won.
   */
  async retireSegments(
    trx: Transaction<Database>,
    compaction: {
      versionId: string;
      datasetId: string;
      connectorId: string;
      segments: Segment[];
      rows: number;
    },
    now: string,
  ): Promise<void> {
    const { segments } = compaction;
    if (segments.length > 0) {
      const retired = await trx
        .updateTable('live_segments')
        .set({ retired_at: now })
        .where(
          'id',
          'in',
          segments.map((s) => s.id),
        )
        .where('retired_at', 'is', null)
        .executeTakeFirst();
      if (Number(retired.numUpdatedRows) !== segments.length)
        throw new Error(`compaction of ${compaction.datasetId}: its segments were compacted by another writer`);
    }
    await trx
      .insertInto('live_compactions')
      .values({
        version_id: compaction.versionId,
        dataset_id: compaction.datasetId,
        connector_id: compaction.connectorId,
        first_seq: segments[0]?.firstSeq ?? null,
        last_seq: segments.at(-1)?.lastSeq ?? null,
        rows: compaction.rows,
        segments: segments.length,
        cursor_from: segments.find((s) => s.cursorFrom !== null)?.cursorFrom ?? null,
        cursor_to: segments.findLast((s) => s.cursorTo !== null)?.cursorTo ?? null,
        created_at: now,
      })
      .execute();
  }

  async compaction(versionId: string) {
    const r = await this.db
      .selectFrom('live_compactions')
      .selectAll()
      .where('version_id', '=', versionId)
      .executeTakeFirst();
    if (!r) return null;
    return {
      connectorId: r.connector_id,
      firstSeq: r.first_seq === null ? null : toNumber(r.first_seq),
      lastSeq: r.last_seq === null ? null : toNumber(r.last_seq),
      rows: toNumber(r.rows),
      segments: r.segments,
      cursorFrom: r.cursor_from,
      cursorTo: r.cursor_to,
    };
  }

  /** Forgets source keys seen before `before`: the dedupe window. */
  async pruneKeys(connectorId: string, before: string): Promise<number> {
    const r = await this.db
      .deleteFrom('live_keys')
      .where('connector_id', '=', connectorId)
      .where('seen_at', '<', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * Takes (or renews) the lease that makes this process the one writer of a live dataset's segments and versions
   * until `until`; false when another process holds an unexpired one.
   */
  async lease(connectorId: string, owner: string, now: string, until: string): Promise<boolean> {
    const r = await this.db
      .insertInto('live_leases')
      .values({ connector_id: connectorId, owner, until })
      .onConflict((oc) =>
        oc
          .column('connector_id')
          .doUpdateSet({ owner, until })
          .where((eb) => eb.or([eb('live_leases.until', '<', now), eb('live_leases.owner', '=', owner)])),
      )
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async releaseLease(connectorId: string, owner: string): Promise<void> {
    await this.db
      .deleteFrom('live_leases')
      .where('connector_id', '=', connectorId)
      .where('owner', '=', owner)
      .execute();
  }

  /** Everything of a deleted connector's live dataset (its segments' blobs go with the dataset's prefix). */
  async forget(connectorId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('live_records').where('connector_id', '=', connectorId).execute();
      await trx.deleteFrom('live_keys').where('connector_id', '=', connectorId).execute();
      await trx.deleteFrom('live_segments').where('connector_id', '=', connectorId).execute();
      await trx.deleteFrom('live_leases').where('connector_id', '=', connectorId).execute();
    });
  }
}
