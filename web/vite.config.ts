import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard's build: web/ in, dist/web out (served by `weir serve`, src/http/web-app.ts). `npm run build` runs
// it through scripts/build-web.mjs, which also precompresses the files and checks the first-load budget.
// `npm run dev` serves it with hot reload and forwards the API to a running `weir serve` (WEIR_DEV_API, default
// http://127.0.0.1:8080).
const api = process.env.WEIR_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The production page must run under APP_CSP (no inline scripts): Vite's preload polyfill is bundled, not inlined.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: api, ws: true },
      '/openapi.json': api,
      '/docs': api,
      '/health': api,
    },
  },
});
