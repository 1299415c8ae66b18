import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { permissionTable, withPermissionTable } from './permission-table.js';
import { ROLE_PERMISSIONS, permissionsOf } from './permissions.js';

describe('permission matrix', () => {
  it('docs/identity.md shows the matrix the code enforces (run `npm run docs:permissions` after changing it)', () => {
    const doc = readFileSync(new URL('../../docs/identity.md', import.meta.url), 'utf8');
    expect(withPermissionTable(doc)).toBe(doc);
    expect(doc).toContain(permissionTable());
  });

  it('keeps its invariants', () => {
    // Instance administration comes only from the user flag, never from a role.
    for (const list of Object.values(ROLE_PERMISSIONS)) expect(list).not.toContain('system:admin');
    // Each role holds at least what the role below it holds.
    const order = ['viewer', 'uploader', 'maintainer', 'admin', 'owner'] as const;
    for (let i = 1; i < order.length; i++)
      for (const p of permissionsOf(order[i - 1]!))
        expect(permissionsOf(order[i]!).has(p), `${order[i]} ⊇ ${order[i - 1]}: ${p}`).toBe(true);
    // API keys never manage people, keys, settings or read the audit log.
    for (const p of ['members:manage', 'keys:manage', 'workspace:manage', 'audit:read'] as const)
      expect(permissionsOf('machine').has(p)).toBe(false);
  });
});
