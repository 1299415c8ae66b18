import type { Db } from '../db/index.js';
import { isoOrNull, toIso } from '../db/values.js';
import type { RefreshTokenRecord } from './records.js';

/** The sessions and refresh_tokens tables: one session per login, one refresh token per rotation. */
export class SessionRepo {
  /** `changed`: see IdentityRepos (src/identity/repo.ts); a revoked session ends its access tokens at once. */
  constructor(
    private readonly db: Db,
    private readonly changed: () => void,
  ) {}

  async insert(
    s: { id: string; userId: string; expiresAt: string; ip: string; userAgent: string | null },
    now: string,
  ): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id: s.id,
        user_id: s.userId,
        created_at: now,
        expires_at: s.expiresAt,
        revoked_at: null,
        revoked_reason: null,
        ip: s.ip,
        user_agent: s.userAgent,
      })
      .execute();
  }

  async revoke(id: string, reason: string, now: string): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    this.changed();
  }

  async insertRefreshToken(
    t: { id: string; sessionId: string; tokenHash: string; expiresAt: string },
    now: string,
  ): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({
        id: t.id,
        session_id: t.sessionId,
        token_hash: t.tokenHash,
        created_at: now,
        expires_at: t.expiresAt,
        used_at: null,
      })
      .execute();
  }

  /** A refresh token with its session's state and whether its user is disabled (the user is read for that only). */
  async refreshTokenByHash(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.db
      .selectFrom('refresh_tokens as r')
      .innerJoin('sessions as s', 's.id', 'r.session_id')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['r.id', 'r.session_id', 'r.expires_at', 'r.used_at', 's.user_id', 's.revoked_at', 'u.disabled'])
      .where('r.token_hash', '=', tokenHash)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        sessionId: row.session_id,
        userId: row.user_id,
        expiresAt: toIso(row.expires_at),
        usedAt: isoOrNull(row.used_at),
        sessionRevokedAt: isoOrNull(row.revoked_at),
        userDisabled: row.disabled === 1,
      }
    );
  }

  /** Marks a refresh token used; false when another request used it first (the rotation race is decided here). */
  async useRefreshToken(id: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
