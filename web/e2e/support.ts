import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { expect, test as base, type Page, type TestInfo } from '@playwright/test';

/** The administrator global-setup.ts bootstraps: owner of ws_default and instance administrator. */
export const ADMIN = { email: 'admin@weir.test', password: 'correct-horse-battery' } as const;

export function serverUrl(): string {
  const url = process.env.WEIR_E2E_URL;
  if (!url) throw new Error('WEIR_E2E_URL is not set: run the suite through playwright.config.ts (global setup)');
  return url;
}

/**
 * The suite's `test`: every page a test opens is watched for script errors and Content-Security-Policy
 * violations, and either fails the test. A dashboard that only works with a weaker CSP, or that throws in the
 * background, does not pass.
 */
export const test = base.extend<{ watched: void }>({
  // Playwright reads a fixture's dependencies from its first parameter's pattern: this one has none.
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => use(serverUrl()),
  watched: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (
          message.type() === 'error' &&
          /Content Security Policy|Refused to (execute|load|apply)/i.test(message.text())
        )
          problems.push(`CSP: ${message.text()}`);
      });
      await use();
      expect(problems, 'script errors or CSP violations on the page').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/** Signs in through the form (as a person would) and waits for the datasets page. */
export async function signIn(page: Page, user: { email: string; password: string } = ADMIN): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
}

/** Zero serious or critical accessibility violations (axe-core, WCAG 2.1 A and AA rules) on the page as it is. */
export async function expectAccessible(page: Page, context?: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(serious, `accessibility violations${context ? ` on ${context}` : ''}`).toEqual([]);
}

/** Writes a screenshot of the page in light and in dark theme as test artifacts (test-results/, not committed). */
export async function screenshotBothThemes(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate((t) => document.documentElement.setAttribute('data-theme', t), theme);
    await page.screenshot({ path: testInfo.outputPath(`${name}-${theme}.png`), fullPage: true });
  }
  await page.evaluate(() => {
    const stored = localStorage.getItem('weir.theme');
    if (stored) document.documentElement.setAttribute('data-theme', stored);
    else document.documentElement.removeAttribute('data-theme');
  });
}

/** A bearer token for API calls that set a test up (users, datasets) without going through the pages. */
export async function apiToken(user: { email: string; password: string } = ADMIN): Promise<string> {
  const response = await fetch(`${serverUrl()}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** Calls the API as `token` and returns the parsed JSON answer; throws with the problem on failure. */
export async function apiCall<T = unknown>(
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(`${serverUrl()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A name no other test uses, so tests sharing the server never see each other's objects. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Records a performance figure measured in the browser (merged into test-results/browser/dashboard-perf.json).
 * The suite records; `npm run bench` (bench/dashboard.mjs) runs the @perf tests and judges the figures against the
 * dashboard's budgets, on a quiet machine, rather than failing CI on a busy one.
 */
export function recordPerf(key: string, value: number): void {
  const file = path.join(fileURLToPath(new URL('../../test-results/browser/', import.meta.url)), 'dashboard-perf.json');
  mkdirSync(path.dirname(file), { recursive: true });
  let figures: Record<string, number> = {};
  try {
    figures = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    // first figure of this run
  }
  figures[key] = value;
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
}
