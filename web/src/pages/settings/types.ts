import type { components } from '../../api/schema';

export type Member = components['schemas']['Member'];
export type Role = Member['role'];
export type Invitation = components['schemas']['Invitation'];
export type ApiKey = components['schemas']['ApiKey'];
export type Workspace = components['schemas']['Workspace'];
export type AuditEvent = components['schemas']['AuditEvent'];

/**
 * Workspace roles, highest first. Mirrors ROLES and ROLE_RANK in src/identity/permissions.ts: the server decides,
 * this only keeps the dashboard from offering a role the caller could not hand out (the API refuses it anyway).
 */
export const ROLES: readonly Role[] = ['owner', 'admin', 'maintainer', 'analyst', 'uploader', 'viewer'];

/** The roles a holder of `own` may hand out or take away: none above their own; only owners manage owners. */
export function grantableRoles(own: string | null): Role[] {
  const rank = ROLES.indexOf(own as Role);
  return rank < 0 ? [] : ROLES.slice(rank);
}

export function mayManageRole(own: string | null, role: Role): boolean {
  return grantableRoles(own).includes(role);
}

export const roleOptions = (roles: readonly Role[]) => roles.map((r) => ({ value: r, label: r }));
