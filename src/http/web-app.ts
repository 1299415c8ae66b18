import { createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { areaOf } from './security-headers.js';

/**
 * The dashboard: the static files `npm run build` writes to `dist/web` (scripts/build-web.mjs), served at `/`.
 *
 * Not @fastify/static: importing it (with glob and send) costs about 100 ms of start-up, a tenth of the ready budget,
 * for a handful of files whose list, types, ETags and precompressed variants the build already wrote down in
 * `assets.json`. With that manifest, serving is a lookup and a file stream:
 * - hashed files under `/assets/` are cached for a year (`immutable`); everything else revalidates by ETag;
 * - a `.br` or `.gz` twin written by the build is sent when the client accepts it (`Vary: Accept-Encoding`);
 * - a browser navigation to a client route (`/datasets/ds_…`) gets `index.html`; anything under `/api/`, and any
 *   request that does not ask for HTML, still gets the API's problem+json 404.
 */

export interface WebAsset {
  /** Content-Type to answer with. */
  type: string;
  /** Strong validator of the uncompressed content (a hash). */
  etag: string;
  /** Precompressed twins beside the file (`<file>.br`, `<file>.gz`), best first. */
  encodings: ('br' | 'gzip')[];
}

export interface WebAssetManifest {
  /** Keyed by the URL path without its leading slash: `index.html`, `assets/index-4f2a.js`, `favicon.svg`. */
  files: Record<string, WebAsset>;
}

export interface WebApp {
  dir: string;
  manifest: WebAssetManifest;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const ENCODING_SUFFIX = { br: '.br', gzip: '.gz' } as const;

/**
 * Where the built dashboard is: WEIR_WEB_DIR, else `web/` beside the bundle (dist/weir.mjs and its chunks), else
 * `dist/web` of the checkout when running from sources (tests). Null when none holds a manifest: the API still runs,
 * and `/` says how to build the dashboard.
 */
export function findWebApp(configured?: string): WebApp | null {
  const candidates = configured
    ? [path.resolve(configured)]
    : [fileURLToPath(new URL('./web/', import.meta.url)), fileURLToPath(new URL('../../dist/web/', import.meta.url))];
  for (const dir of candidates) {
    const manifestPath = path.join(dir, 'assets.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as WebAssetManifest;
    if (manifest.files?.['index.html']) return { dir, manifest };
  }
  return null;
}

/** A browser navigation (a page load), not a script's fetch: only those fall back to index.html. */
function wantsHtml(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

function pickEncoding(request: FastifyRequest, offered: readonly ('br' | 'gzip')[]): 'br' | 'gzip' | null {
  if (offered.length === 0) return null;
  const accepted = request.headers['accept-encoding'];
  if (typeof accepted !== 'string') return null;
  // Browsers send plain lists (`gzip, deflate, br, zstd`); a q=0 refusal of br or gzip is not something they do.
  for (const encoding of offered) if (accepted.includes(encoding)) return encoding;
  return null;
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, web: WebApp, name: string): FastifyReply {
  const asset = web.manifest.files[name]!;
  reply.header('cache-control', name.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
  reply.header('etag', asset.etag);
  reply.header('vary', 'accept-encoding');
  reply.type(asset.type);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const encoding = pickEncoding(request, asset.encodings);
  const file = path.join(web.dir, name) + (encoding ? ENCODING_SUFFIX[encoding] : '');
  if (encoding) reply.header('content-encoding', encoding);
  if (request.method === 'HEAD') return reply.send();
  return reply.send(createReadStream(file));
}

/** Registers the dashboard's routes and returns the not-found fallback that serves `index.html` to navigations. */
export function registerWebApp(
  app: FastifyInstance,
  web: WebApp | null,
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  // `webApp`: static files, outside the API's route catalog, access rules and OpenAPI document (app.ts). Like the
  // health checks they are not rate limited: one page load asks for several, and each costs a file read.
  const routeOptions = { schema: { hide: true }, config: { webApp: true, rateLimit: 'none' } } as const;
  if (web === null) {
    app.get('/', routeOptions, async (_request, reply) =>
      reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(
          'The Weir dashboard is not built: run `npm run build` (or `npm start`), then reload. The API is at /api/v1.',
        ),
    );
    return () => false;
  }
  app.get('/', routeOptions, async (request, reply) => sendAsset(request, reply, web, 'index.html'));
  app.get('/assets/*', routeOptions, async (request, reply) => {
    const name = `assets/${(request.params as { '*': string })['*']}`;
    if (!Object.hasOwn(web.manifest.files, name)) return reply.callNotFound();
    return sendAsset(request, reply, web, name);
  });
  // Top-level files (favicon.svg, robots.txt): one route each, so unknown top-level paths stay 404s.
  for (const name of Object.keys(web.manifest.files))
    if (!name.includes('/') && name !== 'index.html')
      app.get(`/${name}`, routeOptions, async (request, reply) => sendAsset(request, reply, web, name));

  return (request, reply) => {
    const url = request.url;
    // The API, its documents and the operational endpoints keep their own 404s: the same split as their CSPs.
    if (areaOf(url) !== 'app' || url.startsWith('/assets/') || !wantsHtml(request)) return false;
    // A client route: the app's router draws it (or its own "not found" page).
    void sendAsset(request, reply, web, 'index.html');
    return true;
  };
}
