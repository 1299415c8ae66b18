import type { Config } from '../config.js';
import { isUniqueViolation, migrateToLatest, openMetadataStore } from '../db/index.js';
import type { Log } from '../logger.js';
import { AuditLog } from '../system/audit.js';
import { createIdentity } from './index.js';
import type { User } from './model.js';
import type { Role } from './permissions.js';
import { DEFAULT_WORKSPACE_ID } from './service.js';

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
  const store = await openMetadataStore(config.database);
  try {
    await migrateToLatest(store);
    const audit = new AuditLog(store.db, log);
    // createUser never consults the login guard; one that never locks keeps the rate-limit machinery out.
    const neverLocked = { check: async () => ({ locked: false, retryAfterSeconds: 0 }), recordFailure: async () => ({ locked: false, retryAfterSeconds: 0 }), recordSuccess: async () => {} };
    const identity = await createIdentity(config, store, audit, neverLocked, log);
    const first = (await identity.listUsers(1, 0)).total === 0;
    const workspaceId = first ? DEFAULT_WORKSPACE_ID : input.workspaceId;
    const role: Role = first ? 'owner' : input.role;
    const instanceAdmin = first || input.instanceAdmin;
    await identity.workspace(workspaceId);
    const user = await identity.createUser({ ...input, displayName: input.displayName ?? (first ? 'Administrator' : undefined), workspaceId, role, instanceAdmin }).catch((e: unknown) => {
      throw isUniqueViolation(e) ? new Error(`A user with the email '${input.email.trim().toLowerCase()}' already exists`) : e;
    });
    await audit.record({
      workspaceId, actorType: 'system', actorId: null, apiKeyId: null, action: 'user.create', targetType: 'user', targetId: user.id, outcome: 'success',
      statusCode: null, ip: null, userAgent: null, requestId: null, detail: { via: 'cli', role, instanceAdmin, firstUser: first },
    });
    return { user, role, workspaceId, instanceAdmin, first };
  } finally {
    await store.close();
  }
}
