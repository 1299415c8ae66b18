// Writes Weir's OpenAPI document as pretty JSON to stdout, or to the path given as the first argument, without a
// server and without touching any data directory but a temporary one (src/http/openapi-document.ts). The sources are
// bundled on the fly by esbuild, as scripts/permissions-doc.mjs does, so no `npm run build` is needed first. The
// bundle is written into dist/ (and removed): src/version.ts reads package.json one level above its module, and
// the bundle's dependencies resolve from the repository's node_modules.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const bundled = new URL(`dist/.openapi-${process.pid}.mjs`, root);
const out = await build({
  entryPoints: [new URL('src/http/openapi-document.ts', root).pathname],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  write: false,
  logLevel: 'warning',
});
await mkdir(new URL('dist/', root), { recursive: true });
await writeFile(bundled, out.outputFiles[0].text);
let document;
try {
  const { openapiDocument } = await import(bundled.href);
  document = await openapiDocument();
} finally {
  await rm(bundled, { force: true });
}
const json = `${JSON.stringify(document, null, 2)}\n`;
if (process.argv[2]) await writeFile(process.argv[2], json);
else process.stdout.write(json);
