import type { Page } from '@playwright/test';
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

interface Job {
  id: string;
  kind: string;
  status: string;
}

/**
 * A job that runs for two minutes unless cancelled, reporting progress five times a second: enqueued through the
 * test-only POST /api/v1/jobs/test (the e2e server runs with WEIR_TEST_JOB_KINDS=1).
 */
async function longJob(token: string): Promise<Job> {
  const job = await apiCall<Job>(token, 'POST', '/api/v1/jobs/test', {
    kind: 'test.sleep',
    payload: { v: 1, ms: 120_000, steps: 600 },
  });
  started.push({ token, id: job.id });
  return job;
}

// test.sleep runs two at a time: every test's jobs are cancelled after it, so the next one's job runs at once.
const started: { token: string; id: string }[] = [];
test.afterEach(async () => {
  for (const { token, id } of started.splice(0))
    await apiCall(token, 'POST', `/api/v1/jobs/${id}/cancel`).catch(() => undefined); // 409 once it ended
});

const rowOf = (page: Page, id: string) => page.locator(`tr[data-job-id="${id}"]`);

test.describe('jobs', () => {
  test('a running job shows its progress live and is cancelled from the list', async ({ page }, testInfo) => {
    const token = await apiToken();
    const job = await longJob(token);
    await signIn(page);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();

    const row = rowOf(page, job.id);
    await expect(row.getByText('running')).toBeVisible();
    // Progress arrives over the WebSocket: the bar moves without a reload.
    const bar = row.getByRole('progressbar');
    const first = Number(await bar.getAttribute('aria-valuenow'));
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(first);
    await expect(page.getByRole('region', { name: 'Statistics' }).getByText('Success rate')).toBeVisible();
    await expectAccessible(page, 'the jobs page');
    await screenshotBothThemes(page, testInfo, 'jobs');

    // Cancel from the list, confirmed in a dialog; the row turns cancelled from the workspace topic.
    await row.getByRole('button', { name: `Cancel test.sleep ${job.id}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this job?' });
    await dialog.getByRole('button', { name: 'Cancel job' }).click();
    await expect(dialog).toBeHidden();
    await expect(row.getByText('cancelled', { exact: true })).toBeVisible();
    await expect(row.getByRole('button', { name: `Retry test.sleep ${job.id}` })).toBeVisible();

    // The status filter lives in the URL.
    await page.getByLabel('Status').selectOption('cancelled');
    await expect(page).toHaveURL(/status=cancelled/);
    await expect(row).toBeVisible();
  });

  test("a job's page shows its record, and a retry and a cancel live", async ({ page }, testInfo) => {
    const token = await apiToken();
    const job = await longJob(token);
    await apiCall(token, 'POST', `/api/v1/jobs/${job.id}/cancel`);
    await signIn(page);
    await page.goto(`/jobs/${job.id}`);
    const title = page.getByRole('heading', { level: 1 });
    await expect(title).toContainText('test.sleep');
    await expect(title).toContainText('cancelled');
    await expect(page.getByRole('region', { name: 'Payload' })).toContainText('"ms": 120000');

    await page.getByRole('button', { name: `Retry test.sleep ${job.id}` }).click();
    // The new attempt starts (every other test.sleep job is cancelled after its test, so a slot is free).
    await expect(title).toContainText('running');
    const live = page.getByRole('list', { name: 'Live events' });
    await expect(live).toContainText('progress');
    await expectAccessible(page, 'a job page');
    await screenshotBothThemes(page, testInfo, 'job');

    await page.getByRole('button', { name: `Cancel test.sleep ${job.id}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
    await expect(title).toContainText('cancelled');
    await expect(live).toContainText('cancelled');
  });

  test('a job that ends before the page is subscribed to it is shown ended: the page reads it again once the subscription is in place', async ({
    page,
  }) => {
    const token = await apiToken();
    const job = await longJob(token);
    // The page's subscription to this job is held at the WebSocket until the job has ended: its end is published
    // while nobody listens, as when the server is slow to take a subscription and the job is quick.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage(async (message) => {
        if (typeof message === 'string' && message.includes('"subscribe"') && message.includes(`"job:${job.id}"`))
          await released;
        server.send(message);
      });
    });
    await signIn(page);
    await page.goto(`/jobs/${job.id}`);
    const title = page.getByRole('heading', { level: 1 });
    await expect(title).toContainText('running');

    await apiCall(token, 'POST', `/api/v1/jobs/${job.id}/cancel`);
    await expect
      .poll(async () => (await apiCall<Job>(token, 'GET', `/api/v1/jobs/${job.id}`)).status, { timeout: 30_000 })
      .toBe('cancelled');
    release();
    await expect(title).toContainText('cancelled');
  });

  test('a viewer sees jobs without cancel or retry, and the system page refuses them plainly (375 px)', async ({
    page,
  }, testInfo) => {
    const token = await apiToken();
    const viewer = { email: `${unique('viewer')}@weir.test`, password: 'viewer-password-1' };
    await apiCall(token, 'POST', '/api/v1/users', { ...viewer, workspaceId: 'ws_default', role: 'viewer' });
    const job = await longJob(token);
    await page.setViewportSize({ width: 375, height: 800 });
    await signIn(page, viewer);
    await page.goto('/jobs');
    const row = rowOf(page, job.id);
    await expect(row.getByText(/^(queued|running)$/)).toBeVisible();
    await expect(row.getByRole('button')).toHaveCount(0);
    await expectAccessible(page, 'the jobs page at 375 px');
    await screenshotBothThemes(page, testInfo, 'jobs-viewer-375');
    await page.goto('/system');
    await expect(page.getByText('For instance administrators only')).toBeVisible();
  });
});

test.describe('system', () => {
  test('shows health, storage by area and platform statistics; "Sweep now" shows a dry run first', async ({
    page,
  }, testInfo) => {
    await signIn(page, ADMIN);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'System' }).click();
    await expect(page.getByRole('heading', { name: 'System', level: 1 })).toBeVisible();
    await expect(page.getByText('ready', { exact: true })).toBeVisible();
    const checks = page.getByRole('table', { name: 'Readiness checks' });
    await expect(checks.getByRole('row', { name: /database/ })).toBeVisible();
    const areas = page.getByRole('table', { name: 'Storage by area' });
    await expect(areas.getByRole('rowheader', { name: 'datasets' })).toBeVisible();
    await expect(areas.getByRole('rowheader', { name: 'uploads' })).toBeVisible();
    await expect(page.getByRole('img', { name: /^Versions stored, 30 days/ })).toBeVisible();
    await expectAccessible(page, 'the system page');
    await screenshotBothThemes(page, testInfo, 'system');

    await page.getByRole('button', { name: 'Sweep now…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sweep storage' });
    await expect(dialog.getByText(/^Would delete \d+ objects/)).toBeVisible();
    await expect(dialog.getByRole('table', { name: 'Would delete, per area' })).toBeVisible();
    await expectAccessible(page, 'the sweep dialog');
    await screenshotBothThemes(page, testInfo, 'system-sweep-dry-run');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toBeHidden();
  });
});
