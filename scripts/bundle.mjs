// Bundles the CLI and server into dist/weir.mjs (the `weir` bin) and the chunks it imports on demand. Loading a few
// files instead of hundreds of modules halves start-up time (measured by `npm run bench -- startup`); splitting
// at each dynamic import() means a process parses and runs only what it uses: `weir serve` on the embedded default
// never loads BullMQ, Redis, the S3 client or DuckDB's API until they are needed, a client command no server code.
// Native addons, packages that read their own files at run time and the lazily loaded spreadsheet and chart
// libraries stay external. Chunks sit beside the entry (not in a folder of their own): src/version.ts finds
// package.json relative to the module it ends up in.
import { readdir, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const outdir = 'dist';
const outfile = path.join(outdir, 'weir.mjs');
const CHUNK = /^weir-chunk-.*\.mjs(\.map|\.LEGAL\.txt)?$/;
// The bundle carries the time its build started, so a source saved during the build is newer than the bundle and
// the next `npm start` builds again (scripts/bundle-freshness.mjs).
const started = new Date();
// Chunks of an earlier build are never imported again (their names carry a hash of their content).
for (const entry of await readdir(outdir).catch(() => [])) {
  if (CHUNK.test(entry)) await rm(path.join(outdir, entry), { force: true });
}
await build({
  entryPoints: { weir: 'src/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'weir-chunk-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'linked',
  external: [
    'better-sqlite3',
    'argon2',
    // Imported when the engine first opens (src/engine/duckdb.ts); esbuild's interop would hide its named exports.
    '@duckdb/node-api',
    '@duckdb/node-bindings*',
    'pg-native',
    '@fastify/swagger-ui',
    'exceljs',
    'vega',
    'vega-lite',
  ],
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: {
    js: "import { createRequire as __weirRequire } from 'node:module'; const require = __weirRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
await utimes(outfile, started, started);
