import type { Config } from '../config.js';
import { isUniqueViolation, migrateToLatest, openMetadataStore } from '../db/index.js';
import type { Log } from '../logger.js';
import { AuditLog } from '../system/audit.js';
import { createIdentity } from './index.js';
import type { User, Workspace } from './model.js';
import type { Role } from './permissions.js';
import type { IdentityService } from './service.js';
import type { LoginGuard } from './sessions.js';
import { DEFAULT_WORKSPACE_ID } from './users.js';

export interface OfflineUserInput {
  email: string;
  password: string;
  displayName?: string;
  role: Role;
  workspaceId: string;
  instanceAdmin: boolean;
}

export interface OfflineUserResult {
  user: User;
  role: Role;
  workspaceId: string;
  instanceAdmin: boolean;
  /** The first user of the instance: always an instance admin and owner of the default workspace. */
  first: boolean;
}

/**
 * `weir admin create-user`: creates a user straight in the metadata database, no server needed (and no DuckDB).
 * The first user is the instance's way in, the same account WEIR_BOOTSTRAP_ADMIN_* would create.
 */
export async function createUserOffline(config: Config, input: OfflineUserInput, log: Log): Promise<OfflineUserResult> {
  return offline(config, log, async (identity, audit) => {
    const first = (await identity.users.list(1, 0)).total === 0;
    const workspaceId = first ? DEFAULT_WORKSPACE_ID : input.workspaceId;
    const role: Role = first ? 'owner' : input.role;
    const instanceAdmin = first || input.instanceAdmin;
    await identity.workspaces.get(workspaceId);
    const user = await identity.users
      .create({
        ...input,
        displayName: input.displayName ?? (first ? 'Administrator' : undefined),
        workspaceId,
        role,
        instanceAdmin,
      })
      .catch((e: unknown) => {
        throw isUniqueViolation(e)
          ? new Error(`A user with the email '${input.email.trim().toLowerCase()}' already exists`)
          : e;
      });
    await audit.record({
      workspaceId,
      actorType: 'system',
      actorId: null,
      apiKeyId: null,
      action: 'user.create',
      targetType: 'user',
      targetId: user.id,
      outcome: 'success',
      statusCode: null,
      ip: null,
      userAgent: null,
      requestId: null,
      detail: { via: 'cli', role, instanceAdmin, firstUser: first },
    });
    return { user, role, workspaceId, instanceAdmin, first };
  });
}

/**
 * `weir admin clear-ip-rules`: empties a workspace's allow and deny lists, the way back for rules that shut out
 * everyone who could change them. Answers the workspace as it was. A running server sees the change within
 * seconds (its principal cache lasts 2 s).
 */
export async function clearNetworkRulesOffline(config: Config, workspaceId: string, log: Log): Promise<Workspace> {
  return offline(config, log, async (identity, audit) => {
    const before = await identity.workspaces.clearNetworkRules(workspaceId);
    await audit.record({
      workspaceId,
      actorType: 'system',
      actorId: null,
      apiKeyId: null,
      action: 'workspace.network_rules_clear',
      targetType: 'workspace',
      targetId: workspaceId,
      outcome: 'success',
      statusCode: null,
      ip: null,
      userAgent: null,
      requestId: null,
      detail: { via: 'cli', ipAllow: before.ipAllow, ipDeny: before.ipDeny },
    });
    return before;
  });
}

// The offline commands never log anyone in; a guard that never locks keeps the rate-limit machinery out.
const NEVER_LOCKED: LoginGuard = {
  check: async () => ({ locked: false, retryAfterSeconds: 0 }),
  recordFailure: async () => ({ locked: false, retryAfterSeconds: 0 }),
  recordSuccess: async () => {},
};

/** Runs `fn` over the migrated metadata database, with no server (and no DuckDB). */
async function offline<T>(
  config: Config,
  log: Log,
  fn: (identity: IdentityService, audit: AuditLog) => Promise<T>,
): Promise<T> {
  const store = await openMetadataStore(config.database);
  try {
    await migrateToLatest(store);
    const audit = new AuditLog(store.db, log);
    return await fn(await createIdentity(config, store, audit, NEVER_LOCKED, log), audit);
  } finally {
    await store.close();
  }
}
