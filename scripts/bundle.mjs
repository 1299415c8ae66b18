// Bundles the CLI and server into dist/weir.mjs (the `weir` bin) and the chunks it imports on demand. Loading a few
// files instead of hundreds of modules halves start-up time (measured by `npm run bench -- startup`); splitting
// at each dynamic import() means a process parses and runs only what it uses: `weir serve` on the embedded default
// never loads BullMQ, Redis, the S3 client or DuckDB's API until they are needed, a client command no server code.
// Native addons, packages that read their own files at run time and the lazily loaded spreadsheet and chart
// libraries stay external. Chunks sit beside the entry (not in a folder of their own): src/version.ts finds
// package.json relative to the module it ends up in.
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const outdir = 'dist';
const outfile = path.join(outdir, 'weir.mjs');
const CHUNK = /^weir-chunk-.*\.mjs(\.map|\.LEGAL\.txt)?$/;
/**
 * A running process imports some chunks late (a spreadsheet export, the S3 client): those of its build stay this
 * long after a newer build, then go. Chunk names carry a hash of their content, so unchanged ones are shared.
 */
const KEEP_OLD_CHUNKS_MS = 24 * 60 * 60_000;
// The bundle carries the time its build started, so a source saved during the build is newer than the bundle and
// the next `npm start` builds again (scripts/bundle-freshness.mjs).
const started = new Date();
const result = await build({
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
    // The learning libraries load their .wasm files from their own folders, and are imported only when a model
    // trains (src/models/ml/neural/tf.ts, src/models/ml/statistical/augurs.ts).
    '@tensorflow/*',
    '@bsull/augurs',
    '@bsull/augurs/*',
  ],
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: {
    js: "import { createRequire as __weirRequire } from 'node:module'; const require = __weirRequire(import.meta.url);",
  },
  logLevel: 'warning',
  write: false,
});
// The chunks first, the entry last and by rename: a process starting meanwhile loads the old build or the new one,
// each complete.
await mkdir(outdir, { recursive: true });
const entry = path.resolve(outfile);
const written = new Set();
for (const file of result.outputFiles) {
  written.add(path.basename(file.path));
  if (file.path !== entry) await writeFile(file.path, file.contents);
}
const staged = `${outfile}.${process.pid}.tmp`;
await writeFile(staged, result.outputFiles.find((f) => f.path === entry).contents, { mode: 0o755 });
await rename(staged, outfile);
await utimes(outfile, started, started);
for (const name of await readdir(outdir)) {
  if (!CHUNK.test(name) || written.has(name)) continue;
  const file = path.join(outdir, name);
  if (started.getTime() - (await stat(file)).mtimeMs > KEEP_OLD_CHUNKS_MS) await rm(file, { force: true });
}
