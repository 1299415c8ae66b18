// Bundles the CLI and server into one ESM file, dist/weir.mjs (the `weir` bin). Loading one file instead of
// hundreds of modules halves start-up time (measured by `npm run bench -- startup`). Native addons, packages
// that read their own files at run time and the lazily loaded spreadsheet and chart libraries stay external.
import { utimes } from 'node:fs/promises';
import { build } from 'esbuild';

const outfile = 'dist/weir.mjs';
// The bundle carries the time its build started, so a source saved during the build is newer than the bundle and
// the next `npm start` builds again (scripts/bundle-freshness.mjs).
const started = new Date();
await build({
  entryPoints: ['src/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'linked',
  external: [
    'better-sqlite3',
    'argon2',
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
