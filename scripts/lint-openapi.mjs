// Lints the OpenAPI document with Redocly's recommended rules (redocly.yaml): the document is written to a
// temporary file by scripts/openapi.mjs, linted, and removed. Exits with redocly's status.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = new URL('../', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'weir-openapi-lint-'));
const file = path.join(dir, 'openapi.json');
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit' }).status ?? 1;
let status;
try {
  status = run(process.execPath, ['scripts/openapi.mjs', file]);
  if (status === 0)
    status = run(path.join(root, 'node_modules/.bin/redocly'), ['lint', '--config', 'redocly.yaml', file]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
