/**
 * The permission matrix: every permission Weir knows, what each workspace role grants, and what API keys may
 * hold. Enforcement (src/http/auth.ts), the WebSocket topic checks and the generated docs all read this file;
 * nothing else decides who may do what.
 */

export const PERMISSIONS = {
  'datasets:read': 'List, read, preview, profile, chart and download datasets',
  'datasets:write':
    'Upload datasets and versions (also by pipeline runs into an existing dataset), edit dataset metadata',
  'datasets:delete':
    'Delete datasets and versions; set keepVersions or add versions to a dataset that has it (the sweep prunes)',
  'pipelines:read': 'Read pipelines and their run history',
  'pipelines:write': 'Create, edit and delete pipelines',
  'pipelines:run': 'Run and preview pipelines',
  'models:read': 'Read models, backtests and predictions',
  'models:train': 'Train and delete models',
  'connectors:read': 'Read connectors and their sync history',
  'connectors:manage': 'Create, edit, delete and sync connectors',
  'alerts:read': 'Read alert rules and alert states',
  'alerts:manage': 'Create, edit and delete alert rules',
  'jobs:read': 'List and watch jobs',
  'jobs:manage': 'Cancel and retry jobs',
  'members:read': 'List the members of the workspace',
  'members:manage': 'Add and remove members, change roles',
  'keys:manage': 'Create, list and revoke API keys of the workspace',
  'workspace:manage': 'Rename the workspace, edit its network rules',
  'audit:read': 'Read the audit log of the workspace',
  'system:admin': 'Instance administration: users, workspaces, instance-wide statistics (instance admins only)',
} as const;

export type Permission = keyof typeof PERMISSIONS;
export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

export const ROLES = ['owner', 'admin', 'maintainer', 'analyst', 'uploader', 'viewer'] as const;
/** Workspace roles of users; `machine` is the role of API keys, whose scopes narrow it further. */
export type Role = (typeof ROLES)[number];
export type PrincipalRole = Role | 'machine';

const READ: Permission[] = [
  'datasets:read',
  'pipelines:read',
  'models:read',
  'connectors:read',
  'alerts:read',
  'jobs:read',
  'members:read',
];
// `system:admin` is never granted by a workspace role: it comes from the user's instance-admin flag.
const WORKSPACE_ALL = ALL_PERMISSIONS.filter((p) => p !== 'system:admin');

export const ROLE_PERMISSIONS: Record<PrincipalRole, readonly Permission[]> = {
  owner: WORKSPACE_ALL,
  admin: WORKSPACE_ALL,
  maintainer: [
    ...READ,
    'datasets:write',
    'datasets:delete',
    'pipelines:write',
    'pipelines:run',
    'models:train',
    'connectors:manage',
    'alerts:manage',
    'jobs:manage',
  ],
  analyst: [...READ, 'pipelines:write', 'pipelines:run', 'models:train'],
  uploader: [...READ, 'datasets:write'],
  viewer: READ,
  // Everything a program may sensibly do; never people management, keys, workspace settings or the audit log.
  machine: [
    ...READ,
    'datasets:write',
    'datasets:delete',
    'pipelines:write',
    'pipelines:run',
    'models:train',
    'connectors:manage',
    'alerts:manage',
    'jobs:manage',
  ],
};

/** What one role may do to another's membership: only owners touch owners. */
export const ROLE_RANK: Record<Role, number> = {
  owner: 6,
  admin: 5,
  maintainer: 4,
  analyst: 3,
  uploader: 2,
  viewer: 1,
};

/** Whether a holder of `own` may hand out, or take away, `role`: nobody above their own; only owners manage owners. */
export function mayGrant(own: PrincipalRole | null, role: Role): boolean {
  const rank = own === null || own === 'machine' ? 0 : ROLE_RANK[own];
  return ROLE_RANK[role] <= rank;
}

const SETS = Object.fromEntries(
  Object.entries(ROLE_PERMISSIONS).map(([role, list]) => [role, new Set(list)]),
) as unknown as Record<PrincipalRole, ReadonlySet<Permission>>;

export function permissionsOf(role: PrincipalRole): ReadonlySet<Permission> {
  return SETS[role];
}

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
