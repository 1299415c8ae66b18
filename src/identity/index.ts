import type { EventBus } from '../bus/types.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { MetadataStore } from '../db/index.js';
import type { Log } from '../logger.js';
import type { AuditLog } from '../system/audit.js';
import type { NetworkRulesCheck } from './access.js';
import { busChangePublisher } from './changes.js';
import { InvitationRepo } from './invitation-repo.js';
import { InvitationService } from './invitations.js';
import { PrincipalCache } from './principal-cache.js';
import type { PrincipalGrant } from './records.js';
import { identityRepos } from './repo.js';
import { SecretRepo } from './secret-repo.js';
import { randomToken } from './secrets.js';
import { IdentityService } from './service.js';
import type { LoginGuard } from './sessions.js';
import { TokenSigner } from './tokens.js';

export interface IdentityWiring {
  /** Does an address pass a workspace's stored rules (default: every address does). */
  networkRules?: NetworkRulesCheck;
  /** Carries identity changes to open streams; without it (the offline CLI) there are none to tell. */
  bus?: EventBus | null;
  /** What session, refresh, API key and invitation expiry go by (default the system clock; tests move a ManualClock). */
  clock?: Clock;
}

/**
 * Builds the identity service: the signing secret from config, or the one generated on first run and shared through
 * the DB.
 */
export async function createIdentity(
  config: Config,
  store: MetadataStore,
  audit: AuditLog,
  loginGuard: LoginGuard,
  log: Log,
  { networkRules = () => true, bus = null, clock = systemClock }: IdentityWiring = {},
): Promise<IdentityService> {
  // With Redis configured several API servers may share the database; a write on one could not clear the others'
  // caches, so resolving stays a database read there (see principal-cache.ts).
  const principals = config.redisUrl === null ? new PrincipalCache<PrincipalGrant>(PRINCIPAL_CACHE_TTL_MS) : null;
  const repos = identityRepos(store.db, () => principals?.clear());
  const secret =
    config.auth.jwtSecret ??
    (await new SecretRepo(store.db).get('jwt_hs256', randomToken(48), clock.now().toISOString()));
  const signer = new TokenSigner(secret, config.auth.accessTokenTtlSeconds);
  const changes = bus ? busChangePublisher(bus, log) : undefined;
  return new IdentityService(repos, signer, {
    refreshTtlSeconds: config.auth.refreshTokenTtlSeconds,
    loginGuard,
    audit,
    log,
    principals,
    networkRules,
    changes,
    clock,
  });
}

export function createInvitations(
  config: Config,
  store: MetadataStore,
  identity: IdentityService,
  clock: Clock = systemClock,
): InvitationService {
  return new InvitationService(new InvitationRepo(store.db), identity.members, config.auth.invitationTtlSeconds, clock);
}

const PRINCIPAL_CACHE_TTL_MS = 2_000;
