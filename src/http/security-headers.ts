/**
 * Static response headers that harden every answer. API responses are JSON nobody should render, frame or embed,
 * so their CSP allows nothing. The interactive docs (@fastify/swagger-ui under /docs) load their own scripts, styles
 * and favicons from /docs/static with no inline code (its static/csp.json lists no hashes), and draw icons from
 * data: URIs; their CSP allows exactly that, plus fetching /openapi.json (connect-src 'self').
 *
 * The dashboard's pages get a CSP of their own (APP_CSP). Six frozen maps are built once; a request only picks one, so nothing is allocated per request.
 */

export interface SecurityHeadersConfig {
  /** The server is reached over HTTPS only (config `hsts`, WEIR_HSTS). */
  hsts: boolean;
}

export type HeaderMap = Readonly<Record<string, string>>;

const COMMON = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

// Like swagger-ui's own `staticCSP`, minus what Weir does not need: no https: styles/fonts (all assets are local),
// no validator.swagger.io badge, no upgrade-insecure-requests (it would break plain-HTTP installs on a LAN).
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
].join('; ');

// The dashboard (src/http/web-app.ts): its own scripts only, never inline or eval'd (charts render through
// vega-interpreter rather than vega's expression compiler, which needs eval). Inline *styles* are allowed: Radix's
// dialog scroll lock inserts a <style> element, and positioning menus sets style attributes; a style cannot run
// code.
export const APP_CSP = [
  "default-src 'self'",
  "base-uri 'none'",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data: blob:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "worker-src 'self' blob:",
].join('; ');

// One year; no includeSubDomains, since Weir does not own the other hosts of its domain.
const HSTS = { 'Strict-Transport-Security': 'max-age=31536000' } as const;

const API: HeaderMap = Object.freeze({ ...COMMON, 'Content-Security-Policy': API_CSP });
const API_HSTS: HeaderMap = Object.freeze({ ...API, ...HSTS });
const DOCS: HeaderMap = Object.freeze({ ...COMMON, 'Content-Security-Policy': DOCS_CSP });
const DOCS_HSTS: HeaderMap = Object.freeze({ ...DOCS, ...HSTS });
const APP: HeaderMap = Object.freeze({ ...COMMON, 'Content-Security-Policy': APP_CSP });
const APP_HSTS: HeaderMap = Object.freeze({ ...APP, ...HSTS });

export type Area = 'api' | 'docs' | 'app';

/** The docs pages and their assets: `/docs`, `/docs/…`, `/docs?…` (matches the swagger-ui routePrefix in app.ts). */
function isDocs(url: string): boolean {
  if (!url.startsWith('/docs')) return false;
  const next = url.charCodeAt(5);
  return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f; /* ? */
}

/**
 * Which policy a URL falls under: the API (and its documents, metrics and health, which are all JSON or text), the
 * docs, or else the dashboard's pages and assets. Checked by first character first: the API's paths all start
 * with `/a`, `/o`, `/m` or `/h`.
 */
export function areaOf(url: string): Area {
  if (isDocs(url)) return 'docs';
  if (url.startsWith('/api/') || url === '/api') return 'api';
  if (url.startsWith('/openapi.json') || url.startsWith('/metrics') || url.startsWith('/health')) return 'api';
  return 'app';
}

const BY_AREA: Record<Area, [HeaderMap, HeaderMap]> = {
  api: [API, API_HSTS],
  docs: [DOCS, DOCS_HSTS],
  app: [APP, APP_HSTS],
};

/** The headers for a response to `url` (the request URL, path plus optional query). */
export function securityHeaders(config: SecurityHeadersConfig, url: string): HeaderMap {
  return BY_AREA[areaOf(url)][config.hsts ? 1 : 0];
}

/** A map as lower-case names and values, alternating: the form Fastify keeps reply headers in. */
const flatLowerCase = (map: HeaderMap): readonly string[] =>
  Object.freeze(Object.entries(map).flatMap(([name, value]) => [name.toLowerCase(), value]));
const FLAT_BY_AREA: Record<Area, [readonly string[], readonly string[]]> = {
  api: [flatLowerCase(API), flatLowerCase(API_HSTS)],
  docs: [flatLowerCase(DOCS), flatLowerCase(DOCS_HSTS)],
  app: [flatLowerCase(APP), flatLowerCase(APP_HSTS)],
};

/**
 * Sets the security headers of a response to `url` (what securityHeaders() answers). Fastify's reply.header()
 * lower-cases each name it is given, a new string per mixed-case name and request, and reply.headers() lists the
 * map's keys first; here the names were lower-cased once.
 */
export function setSecurityHeaders(
  reply: { header(name: string, value: string): unknown },
  config: SecurityHeadersConfig,
  url: string,
): void {
  const flat = FLAT_BY_AREA[areaOf(url)][config.hsts ? 1 : 0];
  for (let i = 0; i < flat.length; i += 2) reply.header(flat[i]!, flat[i + 1]!);
}
