import type { Page } from '@playwright/test';
import { apiCall, apiToken, expect, expectAccessible, screenshotBothThemes, signIn, test, unique } from './support';

/**
 * 1,440 minutes of one day (a timestamp, two numbers and a text column): more rows than the time series asks points
 * for, so the whole day comes back reduced and a zoomed range comes back finer. Unique bytes per run (the seed), so
 * the upload is never answered as a duplicate of another test's.
 */
function sensorCsv(seed: number): string {
  const lines = ['ts,temp,count,city'];
  for (let i = 0; i < 1440; i++) {
    const ts = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
    const temp = (Math.sin(i / 60) * 10 + 15 + (i % 7) / 10).toFixed(2);
    lines.push(`${ts},${temp},${(i * 37 + seed) % 100},${['Oslo', 'Lima', 'Pune'][i % 3]}`);
  }
  return lines.join('\n');
}

async function createDataset(): Promise<string> {
  const token = await apiToken();
  const form = new FormData();
  const name = unique('sensors');
  form.append('name', name);
  form.append('file', new Blob([sensorCsv(Date.now())], { type: 'text/csv' }), `${name}.csv`);
  const created = await apiCall<{ id: string }>(token, 'POST', '/api/v1/datasets/?wait=true', form);
  return created.id;
}

/** The chart of the card titled `title`, once drawn: vega-embed's container (named by the chart's description). */
function chart(page: Page, title: string) {
  return page.getByRole('region', { name: title }).locator('.vega-chart-host[data-state="drawn"]');
}

test.describe('dataset profile and charts', () => {
  test('the profile shows every column with its distribution', async ({ page }, testInfo) => {
    const id = await createDataset();
    await signIn(page);
    await page.goto(`/datasets/${id}?tab=profile`);
    // A loaded CI machine takes its time over the first page's chunks.
    await expect(page.getByRole('article', { name: 'Column ts' })).toBeVisible({ timeout: 60_000 });
    for (const column of ['temp', 'count', 'city'])
      await expect(page.getByRole('article', { name: `Column ${column}` })).toBeVisible();
    await expect(page.getByText('1,440 rows · 4 columns')).toBeVisible();
    // Numbers and times get a small histogram (the time column's from the histogram endpoint), text its top values.
    await expect(page.getByRole('img', { name: /^Histogram of temp: \d+ bins/ })).toBeVisible();
    await expect(page.getByRole('img', { name: /^Histogram of ts: 20 bins/ })).toBeVisible();
    const city = page.getByRole('article', { name: 'Column city' });
    await expect(city.getByRole('list', { name: 'Most frequent values' }).getByRole('listitem')).toHaveCount(3);
    await expect(city.getByText('Oslo')).toBeVisible();
    await expectAccessible(page, 'the profile tab');
    await screenshotBothThemes(page, testInfo, 'dataset-profile');
  });

  test('draws the charts under the CSP, and a zoom asks the server for a finer series', async ({ page }, testInfo) => {
    // Four charts drawn, two zooms: more than one page's work.
    test.slow();
    const id = await createDataset();
    await signIn(page);
    const first = page.waitForRequest((r) => r.url().includes('/timeseries?'));
    await page.goto(`/datasets/${id}?tab=charts`);
    expect(new URL((await first).url()).searchParams.get('from')).toBeNull();

    // Every chart is drawn by vega-embed (lazily loaded, expressions interpreted) with marks inside. The first waits
    // for the Vega chunk, which a loaded CI machine parses slowly.
    await expect(chart(page, 'Histogram').locator('svg .mark-rect.role-mark path').first()).toBeVisible({
      timeout: 60_000,
    });
    await expect(chart(page, 'Value counts').locator('svg .mark-rect.role-mark path')).toHaveCount(3);
    await expect(chart(page, 'Time series').locator('svg .mark-line.role-mark path').first()).toBeVisible();
    await expect(chart(page, 'Correlation').locator('svg .mark-rect.role-mark path')).toHaveCount(4);
    await expect(chart(page, 'Histogram')).toHaveAttribute('aria-label', /Histogram of temp/);

    // The text alternative: the histogram's data as a table.
    const histogram = page.getByRole('region', { name: 'Histogram' });
    await histogram.getByRole('button', { name: 'Show data as table' }).click();
    await expect(histogram.getByRole('table').getByRole('row')).not.toHaveCount(0);
    await expect(histogram.getByRole('columnheader', { name: 'Rows' })).toBeVisible();

    // A range typed in: the series of that hour alone is asked for.
    const series = page.getByRole('region', { name: 'Time series' });
    await series.getByLabel('From (UTC)').fill('2024-01-01T10:00:00');
    await series.getByLabel('To (UTC)').fill('2024-01-01T11:00:00');
    const typed = page.waitForRequest((r) => r.url().includes('/timeseries?') && r.url().includes('from='));
    await series.getByRole('button', { name: 'Zoom', exact: true }).click();
    const zoomed = new URL((await typed).url()).searchParams;
    expect([zoomed.get('from'), zoomed.get('to')]).toEqual(['2024-01-01T10:00:00.000Z', '2024-01-01T11:00:00.000Z']);
    await expect(chart(page, 'Time series')).toHaveAttribute('aria-label', /from 2024-01-01 10:00:00 UTC.*: 61 points/);
    await expect(page).toHaveURL(/from=2024-01-01T10/);

    // A drag across the chart selects a narrower range still, and zooms to it.
    const box = (await chart(page, 'Time series').boundingBox())!;
    const brushed = page.waitForRequest((r) => {
      const q = new URL(r.url()).searchParams;
      return r.url().includes('/timeseries?') && !!q.get('from') && q.get('from')! > '2024-01-01T10:00:00.000Z';
    });
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const narrower = new URL((await brushed).url()).searchParams;
    expect(narrower.get('to')! < '2024-01-01T11:00:00.000Z').toBe(true);

    await series.getByRole('button', { name: 'Show whole range' }).click();
    await expect(chart(page, 'Time series')).toHaveAttribute('aria-label', /whole range/);

    await expectAccessible(page, 'the charts tab');
    await screenshotBothThemes(page, testInfo, 'dataset-charts');
    await page.setViewportSize({ width: 375, height: 800 });
    await expect(chart(page, 'Histogram').locator('svg .mark-rect.role-mark path').first()).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath('dataset-charts-375.png'), fullPage: true });
  });
});
