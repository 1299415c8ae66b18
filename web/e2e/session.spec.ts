import {
  ADMIN,
  apiCall,
  apiToken,
  expect,
  expectAccessible,
  screenshotBothThemes,
  signIn,
  test,
  unique,
} from './support';

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

    await page.getByRole('button', { name: /^Account: / }).click();
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

  test('switches workspace from the header, and the choice survives a reload', async ({ page }) => {
    const token = await apiToken();
    const name = unique('Field team');
    const created = await apiCall<{ id: string }>(token, 'POST', '/api/v1/workspaces', { name });
    await signIn(page);
    await page.getByRole('button', { name: /^Workspace: / }).click();
    await page.getByRole('menuitemradio', { name: new RegExp(name) }).click();
    await expect(page.getByRole('button', { name: `Workspace: ${name}` })).toBeVisible();
    await page.reload();
    await expect(page.getByRole('button', { name: `Workspace: ${name}` })).toBeVisible();
    expect(await page.evaluate(() => localStorage.getItem('weir.workspace'))).toBe(created.id);
    // Back to the default one, so other tests find their data where they expect it.
    await page.getByRole('button', { name: `Workspace: ${name}` }).click();
    await page.getByRole('menuitemradio', { name: /Default/i }).click();
    await expect(page.getByRole('button', { name: /^Workspace: Default/i })).toBeVisible();
  });

  test('signing out in one tab signs out the others', async ({ context }) => {
    const first = await context.newPage();
    await signIn(first);
    const second = await context.newPage();
    await second.goto('/jobs');
    await expect(second.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await second.getByRole('button', { name: /^Account: / }).click();
    await second.getByRole('menuitem', { name: 'Sign out' }).click();
    await expect(second.getByRole('heading', { name: 'Sign in to Weir' })).toBeVisible();
    await expect(first.getByRole('heading', { name: 'Sign in to Weir' })).toBeVisible();
  });

  test('works at 375 px: the header wraps, every control stays reachable by keyboard', async ({ page }) => {
    await page.setViewportSize({ width: 375, height: 760 });
    await signIn(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // Keyboard: the skip link first, then the brand, the pages, and the header's menus.
    await page.keyboard.press('Tab');
    await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate(
          () => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '',
        ),
      );
    }
    expect(reached.join('|')).toContain('Datasets');
    expect(reached.join('|')).toMatch(/Theme: /);
    expect(reached.join('|')).toMatch(/Account: /);
    await expectAccessible(page, 'the header at 375 px');
  });
});
