import type { Page } from '@playwright/test';
import {
  apiCall,
  apiToken,
  expect,
  expectAccessible,
  recordPerf,
  screenshotBothThemes,
  signIn,
  test,
  unique,
} from './support';

/** A CSV of `rows` rows, about 40 bytes each. */
function csv(rows: number): string {
  const lines = ['id,city,amount,when'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},city-${i % 97},${(i * 7.25).toFixed(2)},2026-01-${(i % 28) + 1}`);
  return lines.join('\n') + '\n';
}

/**
 * Drops a file on the page the way a browser does when a person drags it in from their desktop: a DataTransfer
 * holding a File, and dragenter / dragover / drop dispatched on the body. Resolves once the overlay was shown.
 */
async function dropFile(page: Page, name: string, content: string, type = 'text/csv'): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ name, content, type }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([content], name, { type }));
      return dt;
    },
    { name, content, type },
  );
  await page.dispatchEvent('body', 'dragenter', { dataTransfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer });
  await expect(page.locator('.drop-overlay')).toBeVisible();
  await page.dispatchEvent('body', 'drop', { dataTransfer });
  await expect(page.locator('.drop-overlay')).toBeHidden();
}

/** Slows this page's uploads (Chromium's network emulation) so a transfer lasts long enough to watch and pause. */
async function throttleUploads(page: Page, bytesPerSecond: number): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const set = (upload: number) =>
    cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: upload,
    });
  await set(bytesPerSecond);
  return async () => {
    await set(-1);
  };
}

/**
 * Creates a dataset through the API (multipart, waiting for its ingest): test setup, not what is tested. Its name
 * is in its rows too, so no two are the same bytes (identical bytes would be stored once).
 */
async function createDataset(token: string, name: string, tags: string[], rows = 3): Promise<void> {
  const form = new FormData();
  form.set('file', new Blob([`${csv(rows)}0,${name},0,2026-01-01\n`], { type: 'text/csv' }), `${name}.csv`);
  form.set('name', name);
  form.set('tags', tags.join(','));
  await apiCall(token, 'POST', '/api/v1/datasets?wait=true', form);
}

test.describe('datasets page', () => {
  test('a dropped CSV uploads with progress, pauses and resumes, is ingested live and becomes a dataset', async ({
    page,
  }, testInfo) => {
    await signIn(page);
    await page.goto('/datasets');
    await expect(page.getByRole('heading', { name: 'Datasets', level: 1 })).toBeVisible();

    // ~800 kB at 64 kB/s: long enough to see the bytes move and to pause, however busy the machine.
    const name = `${unique('dropped')}.csv`;
    const body = csv(20_000);
    const unthrottle = await throttleUploads(page, 64 * 1024);
    await dropFile(page, name, body);

    const item = page.locator('.upload-item').filter({ hasText: name });
    const progress = item.getByRole('progressbar', { name: `Uploading ${name}` });
    await expect(progress).toBeVisible();
    // Bytes sent of the total, the rate and the time left, as the transfer goes.
    await expect(item.getByText(new RegExp(`of ${(body.length / 1024).toFixed(0)} KiB`))).toBeVisible();
    await expect(item.getByText(/\d[\d.]* (B|KiB|MiB)\/s/)).toBeVisible();
    await expect(item.getByText(/ left$/)).toBeVisible();
    await expect.poll(async () => Number(await progress.getAttribute('aria-valuenow'))).toBeGreaterThan(0);

    // Pause stops the transfer; Resume continues it from the bytes the server holds.
    await item.getByRole('button', { name: `Pause ${name}` }).click();
    await expect(item.getByText('paused', { exact: true })).toBeVisible();
    const pausedAt = Number(await progress.getAttribute('aria-valuenow'));
    expect(pausedAt).toBeGreaterThan(0);
    expect(pausedAt).toBeLessThan(100);
    await screenshotBothThemes(page, testInfo, 'datasets-upload-paused');
    await item.getByRole('button', { name: `Resume ${name}` }).click();
    await expect(item.getByText('uploading', { exact: true })).toBeVisible();
    await unthrottle();

    // Then the ingest job, followed live, and the dataset it made.
    const stored = item.getByRole('link');
    await expect(stored).toBeVisible({ timeout: 30_000 });
    await expect(item.getByText('succeeded', { exact: true })).toBeVisible();
    const datasetName = (await stored.textContent())!;
    // The list was refreshed: the new dataset is in it, linked to its page.
    const row = page.locator('table.dataset-table').getByRole('link', { name: datasetName, exact: true });
    await expect(row).toBeVisible();
    await expect(row).toHaveAttribute('href', /^\/datasets\/ds_/);
    await stored.click();
    await expect(page).toHaveURL(/\/datasets\/ds_[0-9A-Z]+$/);
  });

  test('a refused file shows why, with its line, in words', async ({ page }, testInfo) => {
    await signIn(page);
    await page.goto('/datasets');

    // Through the keyboard-reachable button and its file chooser this time: a CSV whose third line is ragged.
    const ragged = `${unique('ragged')}.csv`;
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload files' }).focus();
    await page.keyboard.press('Enter');
    await (
      await chooser
    ).setFiles({ name: ragged, mimeType: 'text/csv', buffer: Buffer.from('a,b\n1,2\n3,4,5\n6,7\n') });
    const raggedItem = page.locator('.upload-item').filter({ hasText: ragged });
    await expect(raggedItem.getByRole('alert')).toContainText(/line 3/i, { timeout: 30_000 });
    await expect(raggedItem.getByRole('alert')).toContainText(/3 fields/);
    await expect(raggedItem.getByRole('link')).toHaveCount(0);

    // A binary file named .csv is refused from its first bytes, while it uploads: the server's words reach the page.
    const binary = `${unique('binary')}.csv`;
    await dropFile(page, binary, '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01', 'text/csv');
    const binaryItem = page.locator('.upload-item').filter({ hasText: binary });
    await expect(binaryItem.getByText('refused', { exact: true })).toBeVisible({ timeout: 30_000 });
    await expect(binaryItem.getByRole('alert')).toContainText(/binary|PNG|not text|unsupported/i);
    await expect(binaryItem.getByRole('button', { name: `Retry ${binary}` })).toHaveCount(0);
    await screenshotBothThemes(page, testInfo, 'datasets-refused');
    await binaryItem.getByRole('button', { name: `Dismiss ${binary}` }).click();
    await expect(binaryItem).toHaveCount(0);
  });

  test('filters, sort and page live in the URL and survive a reload', async ({ page }) => {
    const token = await apiToken();
    const tag = unique('tag');
    const prefix = unique('filtered');
    await createDataset(token, `${prefix}-alpha`, [tag, 'e2e']);
    await createDataset(token, `${prefix}-beta`, [tag]);
    await createDataset(token, `${unique('other')}-gamma`, ['e2e']);

    await signIn(page);
    await page.goto('/datasets');
    await page.getByLabel('Search').fill(prefix);
    await expect(page).toHaveURL(new RegExp(`search=${prefix}`));
    await page.getByLabel('Tag').fill(tag);
    await page.getByLabel('Tag').press('Enter');
    await page.getByLabel('Format').selectOption('csv');
    await page.getByLabel('Sort').selectOption('-name');
    await expect(page).toHaveURL(/format=csv/);
    await expect(page).toHaveURL(/sort=-name/);
    await expect(page).toHaveURL(new RegExp(`tag=${tag}`));

    const names = page.locator('table.dataset-table tbody td.dataset-name');
    await expect(names).toHaveText([`${prefix}-beta`, `${prefix}-alpha`]);

    await page.reload();
    await expect(page.getByLabel('Search')).toHaveValue(prefix);
    await expect(page.getByLabel('Tag')).toHaveValue(tag);
    await expect(page.getByLabel('Format')).toHaveValue('csv');
    await expect(page.getByLabel('Sort')).toHaveValue('-name');
    await expect(names).toHaveText([`${prefix}-beta`, `${prefix}-alpha`]);

    // A header click sorts too (and says so to assistive technology).
    await page.getByRole('button', { name: 'Name' }).click();
    await expect(page).toHaveURL(/sort=name(&|$)/);
    await expect(page.getByRole('columnheader', { name: 'Name' })).toHaveAttribute('aria-sort', 'ascending');
    await expect(names).toHaveText([`${prefix}-alpha`, `${prefix}-beta`]);

    // Paging: one per page; Next goes to the second, which the URL keeps.
    await page.goto(`/datasets?search=${prefix}&sort=name&limit=1`);
    await expect(names).toHaveText([`${prefix}-alpha`]);
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page).toHaveURL(/page=2/);
    await expect(names).toHaveText([`${prefix}-beta`]);
    await expect(page.getByText('2–2 of 2')).toBeVisible();
    await page.reload();
    await expect(names).toHaveText([`${prefix}-beta`]);

    // A filter nothing matches says so, and offers the way back.
    await page.goto(`/datasets?search=${unique('nothing')}`);
    await expect(page.getByText('No datasets match these filters.')).toBeVisible();
    await page.getByRole('button', { name: 'Clear filters' }).last().click();
    await expect(page).toHaveURL(/\/datasets$/);
  });

  test('the list is accessible and fits a 375 px screen, in both themes', async ({ page }, testInfo) => {
    const token = await apiToken();
    const tag = unique('look');
    await createDataset(token, `${unique('quarterly-sales')}`, [tag, 'finance', 'q4']);
    await createDataset(token, `${unique('a-rather-long-dataset-name-that-has-to-wrap-somewhere')}`, [tag], 40);

    await signIn(page);
    await page.goto(`/datasets?tag=${tag}`);
    const names = page.locator('table.dataset-table tbody td.dataset-name');
    await expect(names).toHaveCount(2);
    await expectAccessible(page, 'the datasets page');
    await screenshotBothThemes(page, testInfo, 'datasets');

    await page.setViewportSize({ width: 375, height: 800 });
    await expect(page.getByRole('button', { name: 'Upload files' })).toBeVisible();
    await expect(names.first().getByRole('link')).toBeVisible();
    // Nothing wider than the screen but the table, which scrolls in its own frame.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await expectAccessible(page, 'the datasets page at 375 px');
    await screenshotBothThemes(page, testInfo, 'datasets-375px');
  });

  test('a viewer sees the list but no upload button, and dropping a file does nothing', async ({ page }) => {
    const viewer = { email: `${unique('viewer')}@weir.test`, password: 'viewer-password-123' };
    await apiCall(await apiToken(), 'POST', '/api/v1/users', {
      ...viewer,
      workspaceId: 'ws_default',
      role: 'viewer',
    });
    await signIn(page, viewer);
    await page.goto('/datasets');
    await expect(page.getByRole('heading', { name: 'Datasets', level: 1 })).toBeVisible();
    await expect(page.locator('table.dataset-table, .state').first()).toBeVisible();
    await expect(page.getByRole('button', { name: 'Upload files' })).toHaveCount(0);

    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['a,b\n1,2\n'], 'viewer.csv', { type: 'text/csv' }));
      return dt;
    });
    await page.dispatchEvent('body', 'dragenter', { dataTransfer });
    // A writer's page shows the overlay at once (the first test): a frame later, a viewer's still shows none.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await expect(page.locator('.drop-overlay')).toHaveCount(0);
    await page.dispatchEvent('body', 'drop', { dataTransfer });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await expect(page.getByRole('heading', { name: 'Uploads' })).toHaveCount(0);
  });

  // The budget: the datasets page usable in under a second on loopback. Recorded here (every run); judged by
  // `npm run bench` (bench/dashboard.mjs runs the @perf tests on a quiet machine), not on a busy CI machine.
  test('records how soon the page is usable on a fresh load', { tag: '@perf' }, async ({ page }) => {
    // A list to render (the @perf tests also run alone, on an empty server).
    const token = await apiToken();
    for (const n of ['one', 'two', 'three']) await createDataset(token, unique(`perf-${n}`), ['perf'], 50);
    await signIn(page);
    // Fresh documents: each resumes the session from the refresh cookie, then loads the page's chunk and the list.
    // Five loads, the median recorded (one load on a shared machine says little); the slowest is recorded beside it.
    const loads: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto('/datasets');
      await expect(page.locator('table.dataset-table')).toBeVisible();
      // The page marks the moment its list (or empty state) first renders, in the document's own timeline.
      const readyMs = await page.evaluate(async () => {
        for (let i = 0; i < 100 && performance.getEntriesByName('weir:datasets-ready', 'mark').length === 0; i++)
          await new Promise((r) => setTimeout(r, 50));
        return performance.getEntriesByName('weir:datasets-ready', 'mark')[0]?.startTime ?? null;
      });
      expect(readyMs, 'the page marks when its list first renders').not.toBeNull();
      expect(readyMs!).toBeGreaterThan(0);
      loads.push(readyMs!);
    }
    loads.sort((a, b) => a - b);
    recordPerf('datasetsPageReadyMs', Math.round(loads[2]!));
    recordPerf('datasetsPageReadyMaxMs', Math.round(loads[4]!));
  });
});
