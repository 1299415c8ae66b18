// Rewrites the permission matrix in docs/identity.md from src/identity/permissions.ts (bundled on the fly by esbuild).
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const out = await build({
  entryPoints: [new URL('../src/identity/permission-table.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'node',
  write: false,
});
const { withPermissionTable } = await import(
  `data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`
);
const path = new URL('../docs/identity.md', import.meta.url);
writeFileSync(path, withPermissionTable(readFileSync(path, 'utf8')));
console.log('docs/identity.md: permission matrix updated');
