import { describe, expect, it } from 'vitest';
import { API_CSP, APP_CSP, DOCS_CSP, securityHeaders, setSecurityHeaders } from './security-headers.js';

const COMMON = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

describe('securityHeaders', () => {
  it('locks API responses down completely', () => {
    expect(securityHeaders({ hsts: false }, '/api/v1/datasets?limit=5')).toEqual({
      ...COMMON,
      'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    });
    expect(API_CSP).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it.each(['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js', '/docs?x=1', '/docs/json'])(
    'lets the docs page %s load its own assets',
    (url) => {
      const headers = securityHeaders({ hsts: false }, url);
      expect(headers).toEqual({ ...COMMON, 'Content-Security-Policy': DOCS_CSP });
      expect(DOCS_CSP).toContain("script-src 'self'");
      expect(DOCS_CSP).toContain("style-src 'self'");
      expect(DOCS_CSP).toContain("img-src 'self' data:");
      expect(DOCS_CSP).toContain("frame-ancestors 'none'");
      expect(DOCS_CSP).not.toContain('unsafe');
    },
  );

  it.each(['/api/v1/docs', '/api', '/openapi.json', '/metrics', '/health/live'])('treats %s as API', (url) => {
    expect(securityHeaders({ hsts: false }, url)['Content-Security-Policy']).toBe(API_CSP);
  });

  it.each(['/', '/datasets/ds_1?tab=preview', '/assets/index-abc.js', '/favicon.svg', '/docsx', '/apis'])(
    'gives the dashboard page or asset %s the app policy: own scripts only, never inline or eval',
    (url) => {
      const csp = securityHeaders({ hsts: false }, url)['Content-Security-Policy']!;
      expect(csp).toBe(APP_CSP);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).toContain("script-src-attr 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-eval');
      expect(/script-src[^;]*unsafe-inline/.test(csp)).toBe(false);
    },
  );

  it('adds HSTS only when the server is behind HTTPS', () => {
    expect(securityHeaders({ hsts: false }, '/api/v1/x')).not.toHaveProperty('Strict-Transport-Security');
    expect(securityHeaders({ hsts: true }, '/api/v1/x')['Strict-Transport-Security']).toBe('max-age=31536000');
    expect(securityHeaders({ hsts: true }, '/docs')['Strict-Transport-Security']).toBe('max-age=31536000');
  });

  it('hands out the same frozen object every time (nothing allocated per request)', () => {
    const a = securityHeaders({ hsts: true }, '/api/v1/a');
    expect(securityHeaders({ hsts: true }, '/health')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('setSecurityHeaders', () => {
  it.each([
    [false, '/api/v1/datasets'],
    [true, '/api/v1/datasets'],
    [false, '/docs/static/x.js'],
    [true, '/docs'],
  ])('sets what securityHeaders answers, names in lower case (hsts %s, %s)', (hsts, url) => {
    const set: Record<string, string> = {};
    setSecurityHeaders({ header: (name, value) => (set[name] = value) }, { hsts }, url);
    const expected = Object.fromEntries(
      Object.entries(securityHeaders({ hsts }, url)).map(([name, value]) => [name.toLowerCase(), value]),
    );
    expect(set).toEqual(expected);
    expect(Object.keys(set).length).toBe(hsts ? 7 : 6);
  });
});
