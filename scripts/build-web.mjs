// Builds the dashboard (web/ → dist/web) with Vite, then prepares it for `weir serve` (src/http/web-app.ts):
// - precompresses every text file worth it into `.br` and `.gz` twins (the server sends them as they are);
// - writes `assets.json`: each file's type, ETag and twins, so the server looks files up instead of touching disk;
// - checks the first-load budget: the JavaScript a first visit downloads (the entry script and the chunks
//   index.html preloads), gzipped, must stay within FIRST_LOAD_BUDGET. Over it, the build fails.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const FIRST_LOAD_BUDGET = 200 * 1000; // bytes of gzipped JavaScript, from the dashboard issue
const MIN_COMPRESS_BYTES = 1024;

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.map', '.txt', '.wasm']);

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(root, 'dist', 'web');
const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

const started = performance.now();
const { build } = await import('vite');
await build({ configFile: path.join(root, 'web', 'vite.config.ts'), logLevel: 'warn' });

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

const files = {};
const gzipSizes = new Map();
for await (const full of walk(outDir)) {
  const name = path.relative(outDir, full).split(path.sep).join('/');
  if (name === 'assets.json' || name.endsWith('.br') || name.endsWith('.gz')) continue;
  const ext = path.extname(name);
  const content = await readFile(full);
  const encodings = [];
  if (COMPRESSIBLE.has(ext)) {
    const gz = await gzipAsync(content, { level: 9 });
    gzipSizes.set(name, gz.length);
    if (content.length >= MIN_COMPRESS_BYTES && ext !== '.map') {
      const br = await brotliAsync(content, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: content.length },
      });
      if (br.length < content.length) {
        await writeFile(`${full}.br`, br);
        encodings.push('br');
      }
      if (gz.length < content.length) {
        await writeFile(`${full}.gz`, gz);
        encodings.push('gzip');
      }
    }
  }
  const etag = `"${createHash('sha256').update(content).digest('base64url').slice(0, 22)}"`;
  files[name] = { type: TYPES[ext] ?? 'application/octet-stream', etag, encodings };
}
await writeFile(path.join(outDir, 'assets.json'), JSON.stringify({ files }, null, 1));

// What a first visit loads: the module scripts and modulepreloads that index.html names.
const html = await readFile(path.join(outDir, 'index.html'), 'utf8');
const firstLoad = [
  ...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="\/([^"]+\.js)"/g),
].map((m) => m[1]);
const total = firstLoad.reduce((sum, name) => sum + (gzipSizes.get(name) ?? 0), 0);
const kB = (n) => `${(n / 1000).toFixed(1)} kB`;
const lazy = [...gzipSizes].filter(([name]) => name.endsWith('.js') && !firstLoad.includes(name));
console.log(`dashboard built into dist/web in ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const name of firstLoad) console.log(`  first load  ${kB(gzipSizes.get(name) ?? 0).padStart(9)} gzip  ${name}`);
console.log(
  `  first-load JavaScript: ${kB(total)} gzip of ${kB(FIRST_LOAD_BUDGET)} allowed; ${lazy.length} lazy chunks, ${kB(lazy.reduce((s, [, n]) => s + n, 0))} gzip`,
);
// For `npm run bench` (bench/dashboard.mjs); written after the manifest, so never served.
await writeFile(
  path.join(outDir, 'build-report.json'),
  JSON.stringify({ firstLoad, firstLoadGzipBytes: total, budgetBytes: FIRST_LOAD_BUDGET, lazyChunks: lazy.length }),
);
if (total > FIRST_LOAD_BUDGET) {
  console.error(`weir: the dashboard's first-load JavaScript is over budget (${kB(total)} > ${kB(FIRST_LOAD_BUDGET)})`);
  process.exit(1);
}
