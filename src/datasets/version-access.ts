import { AppError } from '../errors.js';
import type { Permission } from '../identity/permissions.js';
import { jobForbidden } from '../identity/job-grants.js';

/**
 * Who may add versions to, or cause the pruning of versions of, an existing dataset: the rule every path that
 * stores a version applies (multipart and tus uploads, pipeline runs), at request time with the caller's
 * permissions and again in the job with its creator's. Appending needs `datasets:write`. A dataset that keeps only
 * its newest N versions loses its oldest one to the storage sweep with every version added, so appending to it
 * needs `datasets:delete` as well, as does setting `keepVersions` to a number.
 */
export function permissionsToAppend(dataset: { keepVersions: number | null }): Permission[] {
  return dataset.keepVersions === null ? ['datasets:write'] : ['datasets:write', 'datasets:delete'];
}

/** What a metadata change needs beyond the route's own `datasets:write`: a number of versions to keep prunes. */
export function permissionsToEdit(patch: { keepVersions?: number | null }): Permission[] {
  return typeof patch.keepVersions === 'number' ? ['datasets:delete'] : [];
}

/** The first of `needed` that `held` lacks, or null. */
export function firstMissing(held: ReadonlySet<Permission>, needed: readonly Permission[]): Permission | null {
  return needed.find((p) => !held.has(p)) ?? null;
}

/** Who is refused: the request's caller (at `pointer` in the request), or the creator of the running job. */
export type Refused = { caller: 'request'; pointer?: string } | { caller: 'job' };

export function appendForbidden(
  dataset: { id: string; keepVersions: number | null },
  permission: Permission,
  refused: Refused,
): AppError {
  const what =
    permission === 'datasets:delete'
      ? `Dataset '${dataset.id}' keeps only its ${dataset.keepVersions} newest versions, so adding one deletes an older one: that`
      : `Adding a version to dataset '${dataset.id}'`;
  if (refused.caller === 'job') return jobForbidden(permission, what);
  const message = `${what} needs the permission '${permission}'; ask a workspace admin for it, or store the result as a new dataset`;
  return new AppError(
    'forbidden',
    message,
    refused.pointer ? [{ pointer: refused.pointer, message: `needs '${permission}'` }] : [],
    { permission },
  );
}

export function editForbidden(permission: Permission): AppError {
  const message = `Setting keepVersions lets the storage sweep delete this dataset's older versions: that needs the permission '${permission}'; ask a workspace admin for it`;
  return new AppError('forbidden', message, [{ pointer: '/body/keepVersions', message: `needs '${permission}'` }], {
    permission,
  });
}
