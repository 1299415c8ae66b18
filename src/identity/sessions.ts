import type { Clock } from '../clock.js';
import { errors } from '../errors.js';
import { newId } from '../ids.js';
import type { IdentityChangePublisher } from './changes.js';
import type { TokenPair, User } from './model.js';
import { burnVerification, verifyPassword } from './passwords.js';
import type { IdentityRepos } from './repo.js';
import { randomToken, sha256Hex } from './secrets.js';
import type { TokenSigner } from './tokens.js';
import { normalizeEmail } from './users.js';

/** Failed-login bookkeeping (src/http/rate-limit.ts implements it over memory or Redis). */
export interface LoginGuard {
  check(email: string, ip: string): Promise<{ locked: boolean; retryAfterSeconds: number }>;
  recordFailure(email: string, ip: string): Promise<{ locked: boolean; retryAfterSeconds: number }>;
  recordSuccess(email: string, ip: string): Promise<void>;
}

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

const INVALID_LOGIN = 'Invalid email or password';

/**
 * Login sessions: a login opens one (within the login lockout), each refresh rotates its refresh token, logout
 * ends it. A session lasts as long as its first refresh token (`refreshTtlSeconds`); rotation does not extend it.
 */
export class Sessions {
  constructor(
    private readonly repos: Pick<IdentityRepos, 'users' | 'sessions' | 'memberships'>,
    private readonly signer: TokenSigner,
    private readonly loginGuard: LoginGuard,
    private readonly refreshTtlSeconds: number,
    private readonly changes: IdentityChangePublisher,
    private readonly clock: Clock,
  ) {}

  async login(emailInput: string, password: string, client: ClientInfo): Promise<{ user: User; tokens: TokenPair }> {
    const email = normalizeEmail(emailInput);
    const lock = await this.loginGuard.check(email, client.ip);
    if (lock.locked) throw errors.rateLimited(lock.retryAfterSeconds, 'Too many failed logins; try again later');
    const found = await this.repos.users.byEmail(email);
    let ok: boolean;
    if (found) ok = await verifyPassword(found.passwordHash, password);
    else {
      await burnVerification(password);
      ok = false;
    }
    if (!ok || !found || found.disabled) {
      const after = await this.loginGuard.recordFailure(email, client.ip);
      if (after.locked) throw errors.rateLimited(after.retryAfterSeconds, 'Too many failed logins; try again later');
      throw errors.unauthorized(INVALID_LOGIN);
    }
    // Guesses sent in parallel all pass the check above before any of them has failed; one that turns out right
    // must not succeed once its siblings' failures have locked the account.
    const after = await this.loginGuard.check(email, client.ip);
    if (after.locked) throw errors.rateLimited(after.retryAfterSeconds, 'Too many failed logins; try again later');
    await this.loginGuard.recordSuccess(email, client.ip);
    const now = this.clock.now();
    const sessionId = newId('ses');
    const sessionEnds = new Date(now.getTime() + this.refreshTtlSeconds * 1000).toISOString();
    await this.repos.sessions.insert(
      { id: sessionId, userId: found.id, expiresAt: sessionEnds, ip: client.ip, userAgent: client.userAgent },
      now.toISOString(),
    );
    await this.repos.users.touchLogin(found.id, now.toISOString());
    const { passwordHash: _, ...user } = found;
    return { user, tokens: await this.issue(found.id, sessionId, sessionEnds) };
  }

  /** Rotates a refresh token. Presenting one that was already rotated means it leaked: the whole session ends. */
  async refresh(
    refreshToken: string,
  ): Promise<
    | { userId: string; sessionId: string; tokens: TokenPair }
    | { reuseDetected: true; userId: string; sessionId: string }
  > {
    const row = await this.repos.sessions.refreshTokenByHash(sha256Hex(refreshToken));
    if (!row) throw errors.unauthorized('The refresh token is not valid');
    const now = this.clock.now();
    if (row.usedAt !== null || !(await this.repos.sessions.useRefreshToken(row.id, now.toISOString()))) {
      await this.repos.sessions.revoke(row.sessionId, 'refresh token reuse', now.toISOString());
      await this.changes.publish({ kind: 'session.revoked', sessionId: row.sessionId });
      return { reuseDetected: true, userId: row.userId, sessionId: row.sessionId };
    }
    if (row.sessionRevokedAt !== null || row.userDisabled || Date.parse(row.expiresAt) <= now.getTime())
      throw errors.unauthorized('The refresh token is not valid');
    return {
      userId: row.userId,
      sessionId: row.sessionId,
      tokens: await this.issue(row.userId, row.sessionId, row.expiresAt),
    };
  }

  /** Seconds from now until `expiresAt` (at least 0): how long the browser keeps a refresh cookie. */
  secondsUntil(expiresAt: string): number {
    return Math.max(0, Math.floor((Date.parse(expiresAt) - this.clock.nowMs()) / 1000));
  }

  async logout(sessionId: string): Promise<void> {
    await this.repos.sessions.revoke(sessionId, 'logout', this.clock.now().toISOString());
    await this.changes.publish({ kind: 'session.revoked', sessionId });
  }

  private async issue(userId: string, sessionId: string, sessionEnds: string): Promise<TokenPair> {
    const ws = (await this.repos.memberships.defaultWorkspaceOf(userId)) ?? '';
    const refreshToken = randomToken();
    await this.repos.sessions.insertRefreshToken(
      { id: newId('ses'), sessionId, tokenHash: sha256Hex(refreshToken), expiresAt: sessionEnds },
      this.clock.now().toISOString(),
    );
    return {
      accessToken: await this.signer.sign({ sub: userId, sid: sessionId, ws }),
      tokenType: 'Bearer',
      expiresIn: this.signer.ttlSeconds,
      refreshToken,
      refreshExpiresAt: sessionEnds,
    };
  }
}
