import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_CSP, API_CSP } from '../src/http/security-headers.js';
import { startTestApp, type TestApp } from './helpers/app.js';

/**
 * The dashboard's static files as `weir serve` answers them (src/http/web-app.ts), from a small built-looking
 * directory: index.html, a hashed script with its precompressed twins, a favicon, and the manifest the build writes.
 */
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b.js"></script></head></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

async function writeWebDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weir-web-'));
  await mkdir(path.join(dir, 'assets'));
  await writeFile(path.join(dir, 'index.html'), INDEX);
  await writeFile(path.join(dir, 'assets/app-1a2b.js'), SCRIPT);
  await writeFile(path.join(dir, 'assets/app-1a2b.js.br'), brotliCompressSync(SCRIPT));
  await writeFile(path.join(dir, 'assets/app-1a2b.js.gz'), gzipSync(SCRIPT));
  await writeFile(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  const files = {
    'index.html': { type: 'text/html; charset=utf-8', etag: '"index-v1"', encodings: [] },
    'assets/app-1a2b.js': { type: 'text/javascript; charset=utf-8', etag: '"app-v1"', encodings: ['br', 'gzip'] },
    'favicon.svg': { type: 'image/svg+xml', etag: '"icon-v1"', encodings: [] },
  };
  await writeFile(path.join(dir, 'assets.json'), JSON.stringify({ files }));
  return dir;
}

describe('the dashboard, served by weir serve', () => {
  let t: TestApp;
  let webDir: string;
  beforeAll(async () => {
    webDir = await writeWebDir();
    t = await startTestApp({ WEIR_WEB_DIR: webDir });
  });
  afterAll(async () => {
    await t?.close();
    await rm(webDir, { recursive: true, force: true });
  });

  it('answers / with index.html under the app CSP, revalidated by ETag', async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('etag')).toBe('"index-v1"');
    expect(await res.text()).toBe(INDEX);
    const again = await fetch(`${t.url}/`, { headers: { 'if-none-match': '"index-v1"' } });
    expect(again.status).toBe(304);
    const head = await fetch(`${t.url}/favicon.svg`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('image/svg+xml');
  });

  it('sends hashed assets precompressed, as the client accepts, cached for good', async () => {
    for (const [accepted, expected] of [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
    ] as const) {
      const res = await fetch(`${t.url}/assets/app-1a2b.js`, { headers: { 'accept-encoding': accepted } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBe(expected);
      expect(res.headers.get('vary')).toBe('accept-encoding');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      // fetch decodes the body: the twin holds the same script.
      expect(await res.text()).toBe(SCRIPT);
    }
    const icon = await fetch(`${t.url}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
  });

  it('gives browser navigations to client routes index.html, and everything else its 404 problem', async () => {
    const page = await fetch(`${t.url}/datasets/ds_01ABC?tab=preview`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(INDEX);

    // A script's fetch of a missing path, an unknown asset, and any API path keep the API's problem+json 404.
    for (const [url, accept] of [
      ['/datasets/ds_01ABC', 'application/json'],
      ['/assets/missing-123.js', 'text/html'],
      ['/api/v1/nope', 'text/html'],
      ['/docs/nope', 'text/html'],
    ]) {
      const res = await fetch(`${t.url}${url}`, { headers: { accept: accept! } });
      expect(res.status, url).toBe(404);
      expect(res.headers.get('content-type'), url).toContain('application/problem+json');
    }
    const api = await fetch(`${t.url}/api/v1/nope`);
    expect(api.headers.get('content-security-policy')).toBe(API_CSP);
  });

  it('keeps its files out of the API: no operations in the OpenAPI document, no entries in the route catalog', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(
      Object.keys(doc.paths).filter((p) => p === '/' || p.startsWith('/assets') || p.startsWith('/favicon')),
    ).toEqual([]);
    expect(t.app.routeCatalog.filter((r) => r.url === '/' || r.url.startsWith('/assets'))).toEqual([]);
  });

  it('is not rate limited like anonymous API calls: a page load asks for several files', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const res = await fetch(`${t.url}/assets/app-1a2b.js`);
        // Read to the end: a body left unread keeps fetch's connection busy, and closing the app waits for it.
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(new Set(answers)).toEqual(new Set([200]));
    const res = await fetch(`${t.url}/favicon.svg`);
    await res.arrayBuffer();
    expect(res.headers.get('x-ratelimit-remaining')).toBeNull();
  });
});

describe('without a built dashboard', () => {
  let t: TestApp;
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(path.join(tmpdir(), 'weir-noweb-'));
    t = await startTestApp({ WEIR_WEB_DIR: empty });
  });
  afterAll(async () => {
    await t?.close();
    await rm(empty, { recursive: true, force: true });
  });

  it('says at / how to build it, and the API works as before', async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('npm run build');
    expect((await t.fetch(`${t.api}/auth/me`)).status).toBe(200);
  });
});
