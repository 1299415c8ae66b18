import type { Config } from '../config.js';
import type { MetadataStore } from '../db/index.js';
import type { Log } from '../logger.js';
import type { AuditLog } from '../system/audit.js';
import { PrincipalCache } from './principal-cache.js';
import { IdentityRepo } from './repo.js';
import { randomToken } from './secrets.js';
import { IdentityService, type LoginGuard, type NetworkRulesCheck, type ResolvedRow } from './service.js';
import { TokenSigner } from './tokens.js';

/** Builds the identity service: the signing secret from config, or the one generated on first run and shared through the DB. */
export async function createIdentity(
  config: Config, store: MetadataStore, audit: AuditLog, loginGuard: LoginGuard, log: Log, networkRules: NetworkRulesCheck = () => true,
): Promise<IdentityService> {
  // With Redis configured several API servers may share the database; a write on one could not clear the others'
  // caches, so resolving stays a database read there (see principal-cache.ts).
  const principals = config.redisUrl === null ? new PrincipalCache<ResolvedRow>(PRINCIPAL_CACHE_TTL_MS) : null;
  const repo = new IdentityRepo(store.db, () => principals?.clear());
  const secret = config.auth.jwtSecret ?? (await repo.secret('jwt_hs256', randomToken(48), new Date().toISOString()));
  const signer = new TokenSigner(secret, config.auth.accessTokenTtlSeconds);
  return new IdentityService(repo, signer, { refreshTtlSeconds: config.auth.refreshTokenTtlSeconds, loginGuard, audit, log, principals, networkRules });
}

const PRINCIPAL_CACHE_TTL_MS = 2_000;
