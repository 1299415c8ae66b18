// `npm start`, before `weir serve`: builds dist/weir.mjs when it is missing or older than its sources, and says so.
// Only the esbuild bundle is built (seconds), without a typecheck: the server runs the bundle, and `npm test` and CI
// typecheck (`npm run build`). An up-to-date bundle starts the server at once.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bundleStaleness, WEB_INPUTS } from './bundle-freshness.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
process.chdir(root);

const reason = await bundleStaleness(root);
if (reason !== null) {
  try {
    await access(path.join(root, 'node_modules', 'esbuild'));
  } catch {
    console.error('weir: the dependencies are not installed: run `npm install` first (then `npm start`)');
    process.exit(1);
  }
  console.error(`building Weir (${reason === 'no bundle yet' ? 'first start' : reason}; a few seconds)…`);
  const started = performance.now();
  try {
    // Importing the build script runs it.
    await import('./bundle.mjs');
  } catch (e) {
    // esbuild has printed the errors with their files and lines.
    console.error(
      `weir: the build failed${e instanceof Error && !('errors' in e) ? `: ${e.message}` : ''}; fix the errors above and run \`npm start\` again`,
    );
    process.exit(1);
  }
  console.error(`built dist/weir.mjs in ${((performance.now() - started) / 1000).toFixed(1)} s; starting the server`);
}

// The dashboard, the same way: built when missing or older than web/ (Vite; a few seconds).
const webReason = await bundleStaleness(root, { bundle: 'dist/web/assets.json', inputs: WEB_INPUTS });
if (webReason !== null) {
  console.error(`building the dashboard (${webReason === 'no bundle yet' ? 'first start' : webReason})…`);
  try {
    await import('./build-web.mjs');
  } catch (e) {
    console.error(
      `weir: the dashboard's build failed${e instanceof Error ? `: ${e.message}` : ''}; the API still starts`,
    );
  }
}
