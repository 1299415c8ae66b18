import { ALL_PERMISSIONS, PERMISSIONS, ROLE_PERMISSIONS, type PrincipalRole } from './permissions.js';

export const TABLE_START =
  '<!-- permission-matrix:start (generated from src/identity/permissions.ts by `npm run docs:permissions`) -->';
export const TABLE_END = '<!-- permission-matrix:end -->';

/** The permission matrix as a Markdown table: the copy in docs/identity.md is generated from this and checked by a test. */
export function permissionTable(): string {
  const roles = Object.keys(ROLE_PERMISSIONS) as PrincipalRole[];
  const lines = [
    `| permission | what it allows | ${roles.join(' | ')} |`,
    `| --- | --- | ${roles.map(() => ':---:').join(' | ')} |`,
    ...ALL_PERMISSIONS.map(
      (p) =>
        `| \`${p}\` | ${PERMISSIONS[p]} | ${roles.map((r) => (ROLE_PERMISSIONS[r].includes(p) ? '✓' : '')).join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}

/** Replaces the generated block of a document with the current table. */
export function withPermissionTable(doc: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error('the document has no permission-matrix markers');
  return `${doc.slice(0, start)}${TABLE_START}\n${permissionTable()}\n${doc.slice(end)}`;
}
