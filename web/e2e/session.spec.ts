import { ADMIN, expect, expectAccessible, screenshotBothThemes, signIn, test } from './support';

test.describe('session', () => {
  test('signs in, survives a reload on the refresh cookie alone, and signs out', async ({
    page,
    context,
  }, testInfo) => {
    await page.goto('/');
    await expect(page.getByRole('heading', { name: 'Sign in to Weir' })).toBeVisible();
    await expectAccessible(page, 'the sign-in page');
    await screenshotBothThemes(page, testInfo, 'sign-in');

    // A wrong password is refused with the server's own words, on the page.
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'Not signed in' })).toBeVisible();

    await signIn(page);
    // The access token is in memory only: nothing in storage holds it.
    const stored = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    );
    expect(stored).not.toMatch(/eyJ/);
    // The refresh cookie is HttpOnly, SameSite=Strict and scoped to the auth routes.
    const cookie = (await context.cookies()).find((c) => c.name === 'weir_refresh');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('weir_refresh');

    // A reload resumes the session from the cookie.
    await page.reload();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();

    await page.getByRole('button', { name: `Account: ${ADMIN.email}` }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in to Weir' })).toBeVisible();
    // Signed out means the cookie no longer works: a reload stays on the sign-in page.
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Sign in to Weir' })).toBeVisible();
  });

  test('serves client routes, assets and the API from one origin with a strict CSP', async ({ page, request }) => {
    const html = await request.get('/datasets/ds_00000000000000000000000000', { headers: { accept: 'text/html' } });
    expect(html.status()).toBe(200);
    expect(html.headers()['content-type']).toContain('text/html');
    const csp = html.headers()['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(await html.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);

    // An API path never falls back to the page.
    const api = await request.get('/api/v1/nope', { headers: { accept: 'text/html' } });
    expect(api.status()).toBe(404);
    expect(api.headers()['content-type']).toContain('application/problem+json');

    // Hashed assets are cached for good and sent precompressed.
    await page.goto('/');
    const script = await page.locator('script[type="module"]').getAttribute('src');
    const asset = await request.get(script!, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(asset.headers()['cache-control']).toContain('immutable');
    expect(asset.headers()['content-encoding']).toBe('br');
    expect(asset.headers()['content-type']).toContain('javascript');
  });
});
