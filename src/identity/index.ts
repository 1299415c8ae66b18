import type { Config } from '../config.js';
import type { MetadataStore } from '../db/index.js';
import type { Log } from '../logger.js';
import type { AuditLog } from '../system/audit.js';
import { IdentityRepo } from './repo.js';
import { randomToken } from './secrets.js';
import { IdentityService, type LoginGuard } from './service.js';
import { TokenSigner } from './tokens.js';

/** Builds the identity service: the signing secret from config, or the one generated on first run and shared through the DB. */
export async function createIdentity(config: Config, store: MetadataStore, audit: AuditLog, loginGuard: LoginGuard, log: Log): Promise<IdentityService> {
  const repo = new IdentityRepo(store.db);
  const secret = config.auth.jwtSecret ?? (await repo.secret('jwt_hs256', randomToken(48), new Date().toISOString()));
  const signer = new TokenSigner(secret, config.auth.accessTokenTtlSeconds);
  return new IdentityService(repo, signer, config.auth.refreshTokenTtlSeconds, loginGuard, audit, log);
}
