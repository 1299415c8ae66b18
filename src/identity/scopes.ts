import { errors, type AppError, type FieldError } from '../errors.js';
import { didYouMean, nearMatches } from '../suggest.js';
import { ALL_PERMISSIONS, isPermission, type Permission } from './permissions.js';

/**
 * Checks the scopes asked for an API key. A scope that names no permission is a typo, not a refusal: it is told
 * apart from a real permission the caller may not hand out, and answered with the nearest permission names.
 */
export function scopeError(requested: readonly string[], grantable: ReadonlySet<Permission>): AppError | null {
  const unknown: { scope: string; message: string }[] = [];
  const fieldErrors: FieldError[] = [];
  requested.forEach((scope, index) => {
    const pointer = `/body/scopes/${index}`;
    if (!isPermission(scope)) {
      const message = `Scope '${scope}' does not exist; ${nearestPermissions(scope)}`;
      unknown.push({ scope, message });
      fieldErrors.push({ pointer, message });
    } else if (!grantable.has(scope)) {
      fieldErrors.push({
        pointer,
        message: `'${scope}' is not grantable (API keys hold at most: ${[...grantable].join(', ')})`,
      });
    }
  });
  if (fieldErrors.length === 0) return null;
  if (unknown.length === 0) return errors.validation('Some scopes cannot be granted to an API key by you', fieldErrors);
  const [first] = unknown;
  // One unknown scope: the headline is its field's message (the CLI then shows only where it is).
  const headline =
    unknown.length === 1 && first
      ? first.message
      : `Scopes ${listed(unknown.map((u) => u.scope))} do not exist: a scope is a permission name (GET /api/v1/permissions lists them)`;
  const alsoRefused = fieldErrors.length > unknown.length ? '; some others cannot be granted to an API key by you' : '';
  return errors.validation(`${headline}${alsoRefused}`, fieldErrors);
}

/** `did you mean 'datasets:read'?`; else the permissions of the same area (`jobs:…`); else where the list is. */
function nearestPermissions(scope: string): string {
  const near = didYouMean(nearMatches(scope, ALL_PERMISSIONS, 2), (p) => `'${p}'`);
  if (near) return near;
  const area = scope.split(':')[0]?.toLowerCase();
  const sameArea = ALL_PERMISSIONS.filter((p) => p.split(':')[0] === area);
  if (sameArea.length > 0) return `the ${area} permissions are ${listed(sameArea)}`;
  return 'the permissions are listed by GET /api/v1/permissions';
}

/** `'a', 'b' and 'c'` */
function listed(names: readonly string[]): string {
  const quoted = names.map((n) => `'${n}'`);
  const last = quoted.pop();
  return quoted.length > 0 ? `${quoted.join(', ')} and ${last}` : (last ?? '');
}
