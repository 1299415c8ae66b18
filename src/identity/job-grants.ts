import { AppError } from '../errors.js';
import { ALL_PERMISSIONS, type Permission } from './permissions.js';
import type { IdentityService } from './service.js';

/**
 * The permissions a job acts with: those the user who queued it holds in the job's workspace when the job runs,
 * not when it was queued. A member demoted, removed or disabled in between finds their queued work refused before
 * it writes. Handlers ask for them just before they store anything, inside the job, wherever the job runs.
 */
export interface JobGrants {
  /** `createdBy` null: a job the system scheduled, acting for nobody: it is not limited. */
  of(workspaceId: string, createdBy: string | null): Promise<ReadonlySet<Permission>>;
}

const EVERYTHING: ReadonlySet<Permission> = new Set(ALL_PERMISSIONS);

/** `authDisabled` (WEIR_INSECURE_DISABLE_AUTH, benchmarks): every caller was the owner, so every job may everything. */
export function jobGrants(identity: Pick<IdentityService, 'currentPermissions'>, authDisabled: boolean): JobGrants {
  return {
    of: (workspaceId, createdBy) =>
      authDisabled || createdBy === null
        ? Promise.resolve(EVERYTHING)
        : identity.currentPermissions(workspaceId, createdBy),
  };
}

/**
 * A job's refusal to write for a creator who no longer holds `permission` (code `forbidden`, permanent: retrying
 * cannot help until someone with the permission starts the work again).
 */
export function jobForbidden(permission: Permission, what: string): AppError {
  return new AppError(
    'forbidden',
    `${what} needs the permission '${permission}', which the user who queued this job no longer holds in this workspace; nothing was written. Someone who holds it can start the work again.`,
    [],
    { permission },
  );
}

/** Throws jobForbidden unless `grants` holds `permission`. */
export function requireJobPermission(grants: ReadonlySet<Permission>, permission: Permission, what: string): void {
  if (!grants.has(permission)) throw jobForbidden(permission, what);
}
