import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { UploadsTable } from '../db/types.js';
import { toIso, toNumber } from '../db/values.js';
import type { JobError } from '../jobs/types.js';
import type { StoredUpload, UploadStatus } from './model.js';

type Row = Selectable<UploadsTable>;

function toUpload(r: Row): StoredUpload {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    createdBy: r.created_by,
    status: r.status as UploadStatus,
    length: r.length === null ? null : toNumber(r.length),
    offset: toNumber(r.offset),
    concat: r.concat as StoredUpload['concat'],
    parts: r.parts_json ? (JSON.parse(r.parts_json) as string[]) : [],
    metadata: JSON.parse(r.metadata_json) as Record<string, string>,
    filename: r.filename,
    datasetId: r.dataset_id,
    versionId: r.version_id,
    jobId: r.job_id,
    duplicateOf: r.duplicate_of_json ? (JSON.parse(r.duplicate_of_json) as StoredUpload['duplicateOf']) : null,
    error: r.error_code
      ? {
          code: r.error_code,
          message: r.error_message ?? '',
          ...(r.error_details_json ? { details: JSON.parse(r.error_details_json) as JobError['details'] } : {}),
        }
      : null,
    lockOwner: r.lock_owner,
    lockUntil: r.lock_until === null ? null : toIso(r.lock_until),
    expiresAt: r.expires_at === null ? null : toIso(r.expires_at),
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
    finishedAt: r.finished_at === null ? null : toIso(r.finished_at),
  };
}

export interface NewUpload {
  id: string;
  workspaceId: string;
  createdBy: string | null;
  status: UploadStatus;
  length: number | null;
  /** Bytes already in (a final upload's parts); default 0. */
  offset?: number;
  concat: StoredUpload['concat'];
  parts: string[];
  metadata: Record<string, string>;
  filename: string;
  datasetId: string | null;
  expiresAt: string | null;
}

const iso = (d = new Date()) => d.toISOString();

/** What the storage sweep reads and changes of uploads: which ones expired, and which still keep their bytes. */
export type UploadRetention = Pick<UploadRepo, 'expiredUploads' | 'markExpired' | 'unfinishedUploads'>;

/** The `uploads` table. Offsets and locks change only through conditional updates, so concurrent nodes agree. */
export class UploadRepo {
  constructor(private readonly db: Db) {}

  async insert(u: NewUpload): Promise<StoredUpload> {
    const now = iso();
    await this.db
      .insertInto('uploads')
      .values({
        id: u.id,
        workspace_id: u.workspaceId,
        created_by: u.createdBy,
        status: u.status,
        length: u.length,
        offset: u.offset ?? 0,
        concat: u.concat,
        parts_json: u.parts.length > 0 ? JSON.stringify(u.parts) : null,
        metadata_json: JSON.stringify(u.metadata),
        filename: u.filename,
        dataset_id: u.datasetId,
        expires_at: u.expiresAt,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return (await this.get(u.workspaceId, u.id))!;
  }

  async get(workspaceId: string, id: string): Promise<StoredUpload | null> {
    const row = await this.db
      .selectFrom('uploads')
      .selectAll()
      .where('id', '=', id)
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
    return row ? toUpload(row) : null;
  }

  async getMany(workspaceId: string, ids: string[]): Promise<StoredUpload[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('uploads')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', ids)
      .execute();
    return rows.map(toUpload);
  }

  async list(
    workspaceId: string,
    limit: number,
    offset: number,
    status?: UploadStatus,
  ): Promise<{ items: StoredUpload[]; total: number }> {
    let q = this.db.selectFrom('uploads').where('workspace_id', '=', workspaceId);
    if (status) q = q.where('status', '=', status);
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      q.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst(),
    ]);
    return { items: rows.map(toUpload), total: toNumber(count?.n ?? 0) };
  }

  /**
   * Bytes the workspace's unfinished uploads declared (or received, while deferred): what the quota counts as
   * promised. A final upload adds nothing: its parts are counted.
   */
  async pendingBytes(workspaceId: string): Promise<number> {
    const pending = await this.db
      .selectFrom('uploads')
      .where('workspace_id', '=', workspaceId)
      .where('status', 'in', ['uploading', 'complete', 'ingesting'])
      .where((eb) => eb.or([eb('concat', 'is', null), eb('concat', '=', 'partial')]))
      .select((eb) =>
        eb.fn.coalesce(eb.fn.sum<number | string>(eb.fn.coalesce('length', 'offset')), sql<number>`0`).as('n'),
      )
      .executeTakeFirst();
    return toNumber(pending?.n ?? 0);
  }

  /** Takes the write lock unless another live writer holds it (`stale` names a dead holder that may be replaced). */
  async lock(id: string, owner: string, leaseMs: number, stale: string | null = null): Promise<boolean> {
    const now = new Date();
    const res = await this.db
      .updateTable('uploads')
      .set({ lock_owner: owner, lock_until: iso(new Date(now.getTime() + leaseMs)) })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('lock_owner', 'is', null),
          eb('lock_until', '<', iso(now)),
          ...(stale ? [eb('lock_owner', '=', stale)] : []),
        ]),
      )
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async renewLock(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const res = await this.db
      .updateTable('uploads')
      .set({ lock_until: iso(new Date(Date.now() + leaseMs)) })
      .where('id', '=', id)
      .where('lock_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async unlock(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable('uploads')
      .set({ lock_owner: null, lock_until: null })
      .where('id', '=', id)
      .where('lock_owner', '=', owner)
      .execute();
  }

  /**
   * Advances the committed offset from `from` by `bytes` while the caller still holds the lock (and, with
   * `length`, fixes a deferred length). False when the lock was lost: the bytes were not committed.
   */
  async commitBytes(
    id: string,
    owner: string,
    from: number,
    bytes: number,
    patch: { length?: number; expiresAt: string },
  ): Promise<boolean> {
    const res = await this.db
      .updateTable('uploads')
      .set({
        offset: from + bytes,
        ...(patch.length !== undefined ? { length: patch.length } : {}),
        expires_at: patch.expiresAt,
        updated_at: iso(),
      })
      .where('id', '=', id)
      .where('lock_owner', '=', owner)
      .where('offset', '=', from)
      .where('status', '=', 'uploading')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** A status change, only from one of `from` (so a racing change is not overwritten). */
  async transition(
    id: string,
    from: UploadStatus[],
    to: UploadStatus,
    patch: {
      jobId?: string;
      datasetId?: string | null;
      versionId?: string | null;
      duplicateOf?: StoredUpload['duplicateOf'];
      error?: JobError | null;
      finished?: boolean;
    } = {},
  ): Promise<boolean> {
    const now = iso();
    const res = await this.db
      .updateTable('uploads')
      .set({
        status: to,
        updated_at: now,
        ...(patch.jobId !== undefined ? { job_id: patch.jobId } : {}),
        ...(patch.datasetId !== undefined ? { dataset_id: patch.datasetId } : {}),
        ...(patch.versionId !== undefined ? { version_id: patch.versionId } : {}),
        ...(patch.duplicateOf !== undefined
          ? { duplicate_of_json: patch.duplicateOf ? JSON.stringify(patch.duplicateOf) : null }
          : {}),
        ...(patch.error !== undefined
          ? {
              error_code: patch.error?.code ?? null,
              error_message: patch.error?.message ?? null,
              error_details_json: patch.error?.details ? JSON.stringify(patch.error.details) : null,
            }
          : {}),
        ...(patch.finished ? { finished_at: now, expires_at: null } : {}),
      })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** The workspace an upload belongs to, by its id alone; null when there is no such upload. */
  async workspaceOf(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('uploads').select('workspace_id').where('id', '=', id).executeTakeFirst();
    return row?.workspace_id ?? null;
  }

  /** Unfinished uploads past their expiry that no request holds right now, in id order after `afterId`. */
  async expiredUploads(now: string, afterId: string, limit: number): Promise<{ id: string; workspaceId: string }[]> {
    const rows = await this.db
      .selectFrom('uploads')
      .select(['id', 'workspace_id'])
      .where('status', '=', 'uploading')
      .where('expires_at', '<', now)
      .where((eb) => eb.or([eb('lock_until', 'is', null), eb('lock_until', '<', now)]))
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id }));
  }

  /** Marks an upload expired only if it is still unfinished and past its expiry: a PATCH that extended it wins. */
  async markExpired(id: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('uploads')
      .set({
        status: 'expired',
        updated_at: now,
        finished_at: now,
        error_code: 'upload_expired',
        error_message: 'The upload was not finished before it expired',
      })
      .where('id', '=', id)
      .where('status', '=', 'uploading')
      .where('expires_at', '<', now)
      .where((eb) => eb.or([eb('lock_until', 'is', null), eb('lock_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Uploads whose rows may keep bytes (the storage sweep's policy decides), paged by id. */
  async unfinishedUploads(
    afterId: string,
    limit: number,
  ): Promise<{ id: string; status: string; expiresAt: string | null; parts: string[] }[]> {
    const rows = await this.db
      .selectFrom('uploads')
      .select(['id', 'status', 'expires_at', 'parts_json'])
      .where('status', 'in', ['uploading', 'ingesting', 'complete'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      status: r.status,
      expiresAt: r.expires_at === null ? null : toIso(r.expires_at),
      parts: r.parts_json ? (JSON.parse(r.parts_json) as string[]) : [],
    }));
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }
}
