// Is dist/weir.mjs older than what it is built from? `npm start` rebuilds only then (scripts/start.mjs).
// Modification times, not contents: reading every source to hash it costs more than the check is worth, and a
// checkout, an edit or `npm install` all touch what they change. A directory's own time changes when an entry is
// added, removed or renamed, so deleted files count too. The bundle is stamped with the time its build started
// (scripts/bundle.mjs), so a file saved while a build runs is newer than that build.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** What the bundle is built from, relative to the package root: sources, dependencies, the build itself. */
export const BUNDLE_INPUTS = [
  'src',
  'package.json',
  'package-lock.json',
  'node_modules/.package-lock.json',
  'tsconfig.json',
  'scripts/bundle.mjs',
];

/** What the dashboard (dist/web, scripts/build-web.mjs) is built from. Its browser tests are not. */
export const WEB_INPUTS = ['web/src', 'web/index.html', 'web/public', 'web/vite.config.ts', 'package-lock.json'];

/** Tests and test helpers beside the sources are never bundled. */
const NOT_BUNDLED = /\.test\.ts$|(^|\/)test-support\.ts$/;

/**
 * Why the bundle must be built, or null when it is up to date: `no bundle yet`, or the newest input that changed
 * since the last build (`src/app.ts changed since the last build`). Inputs that do not exist are skipped.
 * @param {string} root the package root
 * @param {{ bundle?: string, inputs?: readonly string[] }} [options]
 * @returns {Promise<string | null>}
 */
export async function bundleStaleness(root, { bundle = 'dist/weir.mjs', inputs = BUNDLE_INPUTS } = {}) {
  const built = await mtimeOf(path.join(root, bundle));
  if (built === null) return 'no bundle yet';
  let newest = null;
  for (const input of inputs) {
    for await (const entry of walk(root, input)) {
      if (entry.mtimeMs > built && (newest === null || entry.mtimeMs > newest.mtimeMs)) newest = entry;
    }
  }
  return newest === null ? null : `${newest.file} changed since the last build`;
}

/**
 * @param {string} file
 * @returns {Promise<number | null>}
 */
async function mtimeOf(file) {
  try {
    return (await stat(file)).mtimeMs;
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * The input and, for a directory, everything under it, each with its modification time.
 * @param {string} root
 * @param {string} relative
 * @returns {AsyncGenerator<{ file: string, mtimeMs: number }>}
 */
async function* walk(root, relative) {
  let info;
  try {
    info = await stat(path.join(root, relative));
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === 'ENOENT') return;
    throw e;
  }
  if (!info.isDirectory()) {
    if (!NOT_BUNDLED.test(relative)) yield { file: relative, mtimeMs: info.mtimeMs };
    return;
  }
  yield { file: `${relative}/`, mtimeMs: info.mtimeMs };
  for (const name of await readdir(path.join(root, relative))) yield* walk(root, path.posix.join(relative, name));
}
