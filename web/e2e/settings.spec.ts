import type { Page } from '@playwright/test';
import {
  ADMIN,
  apiCall,
  apiToken,
  expect,
  expectAccessible,
  screenshotBothThemes,
  serverUrl,
  signIn,
  test,
  unique,
} from './support';

/** The status an API call with `token` gets: how a test proves a key or a role no longer works. */
async function statusWith(token: string, method: string, path: string, body?: unknown): Promise<number> {
  const response = await fetch(`${serverUrl()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.status;
}

async function openTab(page: Page, name: string, path: string): Promise<void> {
  await page.getByRole('tab', { name }).click();
  await expect(page).toHaveURL(new RegExp(`${path}$`));
}

test.describe('settings', () => {
  test('an API key is created, its secret shown once and copied, then revoked and refused', async ({
    page,
    context,
  }, testInfo) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await signIn(page);
    await page.goto('/settings');
    // /settings opens the first tab the caller may use.
    await expect(page).toHaveURL(/\/settings\/members$/);
    await expect(page.getByRole('heading', { name: 'Members' })).toBeVisible();
    await expect(page.getByRole('cell', { name: ADMIN.email })).toBeVisible();
    await expectAccessible(page, 'settings: members');
    await screenshotBothThemes(page, testInfo, 'settings-members');

    await openTab(page, 'API keys', '/settings/keys');
    const name = unique('e2e-key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByRole('button', { name: 'Create key' }).click();

    await expect(dialog.getByText('You will not see this key again')).toBeVisible();
    const token = await dialog.getByLabel('API key').inputValue();
    expect(token).toMatch(/^weir_key_/);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await expect(dialog.getByText('Copied to the clipboard.')).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await expectAccessible(page, 'settings: the new key dialog');
    expect(await statusWith(token, 'GET', '/api/v1/auth/me')).toBe(200);

    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect(dialog).toBeHidden();
    const row = page.getByRole('row').filter({ hasText: name });
    await expect(row).toBeVisible();
    // Shown once: nothing on the page holds the secret any more.
    expect(await page.content()).not.toContain(token);
    await expectAccessible(page, 'settings: keys');
    await screenshotBothThemes(page, testInfo, 'settings-keys');

    await row.getByRole('button', { name: `Revoke ${name}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    // The dialog closes once the API has answered (while it is open the rows behind it are hidden from roles).
    await expect(page.getByRole('dialog')).toBeHidden();
    await expect(page.getByText('Key revoked', { exact: true })).toBeVisible();
    await expect(row).toHaveCount(0);
    expect(await statusWith(token, 'GET', '/api/v1/auth/me')).toBe(401);
  });

  test("network rules show the API's errors at the entry they name", async ({ page }, testInfo) => {
    await signIn(page);
    await page.goto('/settings/network');
    const allow = page.getByRole('group', { name: 'Allow only' });
    await allow.getByRole('button', { name: /add an address/i }).click();
    await allow.getByLabel('Allow only: entry 1').fill('10.0.0.0/8');
    await allow.getByRole('button', { name: /add an address/i }).click();
    await allow.getByLabel('Allow only: entry 2').fill('not-an-address');
    await page.getByRole('button', { name: 'Save rules' }).click();
    // The API's pointer (/body/ipAllow/1) puts the error at the second entry.
    await expect(allow.getByLabel('Allow only: entry 2')).toHaveAttribute('aria-invalid', 'true');
    await expect(allow.getByRole('alert')).toBeVisible();
    await expect(allow.getByLabel('Allow only: entry 1')).not.toHaveAttribute('aria-invalid', 'true');
    await expectAccessible(page, 'settings: network rules');
    await screenshotBothThemes(page, testInfo, 'settings-network');
    // Nothing was saved.
    await page.getByRole('button', { name: 'Discard changes' }).click();
    await expect(allow.getByRole('textbox')).toHaveCount(0);
  });

  test('the audit log is filtered by action and target, kept in the URL', async ({ page }, testInfo) => {
    // An event to find: an invitation made through the API, found by its action prefix and its target.
    const invitation = await apiCall<{ id: string }>(
      await apiToken(),
      'POST',
      '/api/v1/workspaces/ws_default/invitations',
      { email: `${unique('invitee')}@weir.test`, role: 'viewer' },
    );
    await signIn(page);
    await page.goto('/settings/audit');
    await expect(page.getByRole('table')).toBeVisible();
    await page.getByLabel('Action').fill('invitation.*');
    await page.getByLabel('Target id').fill(invitation.id);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page).toHaveURL(new RegExp(`/settings/audit\\?action=invitation\\.\\*&target=${invitation.id}$`));
    const rows = page.getByRole('table').getByRole('row');
    await expect(rows).toHaveCount(2); // the header and the one event
    await expect(rows.nth(1)).toContainText('invitation.create');
    await expect(rows.nth(1)).toContainText(ADMIN.email);
    await expectAccessible(page, 'settings: audit log');
    await screenshotBothThemes(page, testInfo, 'settings-audit');
    // The filters are in the address: a reload keeps them.
    await page.reload();
    await expect(page.getByLabel('Target id')).toHaveValue(invitation.id);
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(1)).toContainText('invitation.create');
  });

  test("a member's role changed to viewer takes away what they could do", async ({ page, browser }, testInfo) => {
    // Two people signed in, each page checked: more than one page test's time.
    test.slow();
    const member = { email: `${unique('member')}@weir.test`, password: 'member-password-123' };
    await apiCall(await apiToken(), 'POST', '/api/v1/users', {
      ...member,
      displayName: 'Second Member',
      workspaceId: 'ws_default',
      role: 'admin',
    });

    // The member, at phone width, as an admin: the workspace settings are theirs, but not rules that shut them out.
    const theirs = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const memberPage = await theirs.newPage();
    await signIn(memberPage, member);
    await memberPage.goto('/settings/network');
    const deny = memberPage.getByRole('group', { name: 'Deny' });
    await deny.getByRole('button', { name: /add an address/i }).click();
    await deny.getByLabel('Deny: entry 1').fill('127.0.0.1');
    await memberPage.getByRole('button', { name: 'Save rules' }).click();
    await expect(memberPage.getByRole('alert').filter({ hasText: 'These rules would lock you out' })).toBeVisible();
    await expect(deny.getByLabel('Deny: entry 1')).toHaveAttribute('aria-invalid', 'true');
    await expectAccessible(memberPage, 'settings at 375 px');
    await screenshotBothThemes(memberPage, testInfo, 'settings-network-375');

    // The administrator makes them a viewer.
    await signIn(page);
    await page.goto('/settings/members');
    const role = page.getByRole('combobox', { name: `Role of ${member.email}` });
    await expect(role).toHaveValue('admin');
    await role.selectOption('viewer');
    await expect(page.getByText(`${member.email} is now viewer.`, { exact: true })).toBeVisible();
    await expect(role).toHaveValue('viewer');

    // The member's next page load knows: only the members list is left, read-only.
    await memberPage.goto('/settings');
    await expect(memberPage).toHaveURL(/\/settings\/members$/);
    await expect(memberPage.getByRole('cell', { name: ADMIN.email })).toBeVisible();
    await expect(memberPage.getByRole('tab')).toHaveText(['Members and roles']);
    await expect(memberPage.getByRole('button', { name: /invite|remove|create/i })).toHaveCount(0);
    await expect(memberPage.getByRole('combobox', { name: /^Role of/ })).toHaveCount(0);
    await memberPage.goto('/settings/keys');
    await expect(memberPage).toHaveURL(/\/settings\/members$/);

    await memberPage.goto('/datasets');
    await expect(memberPage.getByRole('heading', { level: 1 })).toBeVisible();
    await memberPage.waitForLoadState('networkidle');
    await expect(memberPage.getByRole('button', { name: /upload|new|delete/i })).toHaveCount(0);

    // And the API refuses them a write.
    const theirToken = await apiToken(member);
    expect(await statusWith(theirToken, 'PATCH', '/api/v1/datasets/ds_00000000000000000000000000', {})).toBe(403);
    expect(await statusWith(theirToken, 'POST', '/api/v1/keys', { name: 'nope' })).toBe(403);
    await theirs.close();
  });

  test('dark mode is remembered across a reload', async ({ page }) => {
    await signIn(page);
    await page.goto('/settings/members');
    await page.getByRole('button', { name: /^Theme: / }).click();
    await page.getByRole('menuitemradio', { name: 'Dark' }).click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Members' })).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await expect(page.getByRole('button', { name: 'Theme: dark' })).toBeVisible();
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = (background.match(/\d+/g) ?? []).map(Number);
    // A dark background: every channel low (the design system's is rgb(15, 20, 26)).
    expect(Math.max(r ?? 255, g ?? 255, b ?? 255), background).toBeLessThan(60);
  });
});
