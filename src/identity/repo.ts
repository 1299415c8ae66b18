import type { Db } from '../db/index.js';
import { ApiKeyRepo } from './api-key-repo.js';
import { MembershipRepo } from './membership-repo.js';
import { PrincipalRepo } from './principal-repo.js';
import { SessionRepo } from './session-repo.js';
import { UserRepo } from './user-repo.js';
import { WorkspaceRepo } from './workspace-repo.js';

/**
 * The repositories of identity, one per table group, over one connection (or one transaction). Each service takes
 * the ones it uses (a Pick of this). Invitations and instance secrets have theirs apart: nothing here writes them
 * in a transaction with the others.
 */
export interface IdentityRepos {
  users: UserRepo;
  workspaces: WorkspaceRepo;
  memberships: MembershipRepo;
  sessions: SessionRepo;
  apiKeys: ApiKeyRepo;
  principals: PrincipalRepo;
  /** Runs `fn` over the same repositories inside one database transaction. */
  transaction<T>(fn: (repos: IdentityRepos) => Promise<T>): Promise<T>;
}

/**
 * `changed` is called after every write that can change what a token resolves to (and again when a transaction
 * commits): the service drops its principal cache then (src/identity/principal-cache.ts).
 */
export function identityRepos(db: Db, changed: () => void = () => {}): IdentityRepos {
  return {
    users: new UserRepo(db),
    workspaces: new WorkspaceRepo(db, changed),
    memberships: new MembershipRepo(db, changed),
    sessions: new SessionRepo(db, changed),
    apiKeys: new ApiKeyRepo(db, changed),
    principals: new PrincipalRepo(db),
    async transaction<T>(fn: (repos: IdentityRepos) => Promise<T>): Promise<T> {
      // Cleared again after the commit: a request resolved between a write and the commit would cache the old row.
      const result = await db.transaction().execute((trx) => fn(identityRepos(trx, changed)));
      changed();
      return result;
    },
  };
}
