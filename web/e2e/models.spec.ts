import { apiCall, apiToken, expect, expectAccessible, screenshotBothThemes, signIn, test, unique } from './support';

/** Hourly readings, a sawtooth 0..9: repeat-last is the model a forecast falls back on, with known errors. */
function hourlyCsv(rows: number): string {
  const lines = ['at,load,temp'];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++)
    lines.push(`${new Date(start + i * 3_600_000).toISOString()},${i % 10},${20 + (i % 7)}`);
  return lines.join('\n') + '\n';
}

async function uploadDataset(name: string): Promise<string> {
  const token = await apiToken();
  const form = new FormData();
  form.append('name', name);
  form.append('file', new Blob([hourlyCsv(200)], { type: 'text/csv' }), `${name}.csv`);
  const { datasetId, jobId } = await apiCall<{ datasetId: string; jobId: string }>(
    token,
    'POST',
    '/api/v1/datasets',
    form,
  );
  await expect
    .poll(async () => (await apiCall<{ status: string }>(token, 'GET', `/api/v1/jobs/${jobId}`)).status)
    .toBe('succeeded');
  return datasetId;
}

test.describe('models', () => {
  test('trains a forecast from the form, shows it beside its baselines with charts, and promotes a version', async ({
    page,
  }, testInfo) => {
    const datasetName = unique('load');
    const modelName = unique('load forecast');
    await uploadDataset(datasetName);
    await signIn(page);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
    await expect(page.getByRole('heading', { name: 'Models', level: 1 })).toBeVisible();
    await page.getByRole('button', { name: 'Train a model' }).click();
    const form = page.getByRole('form', { name: 'Train a model' });
    await form.getByLabel('Name').fill(modelName);
    await form.getByLabel('Dataset').selectOption({ label: datasetName });
    await form.getByLabel('Task').selectOption('forecast');
    // The columns come from the dataset's schema.
    await expect(form.getByLabel('Target').locator('option', { hasText: 'load' })).toHaveCount(1);
    await form.getByLabel('Target').selectOption('load');
    await form.getByLabel('Time column').selectOption('at');
    // A horizon longer than the test part is refused at its field.
    await form.getByLabel('Horizon').fill('500');
    await form.getByRole('button', { name: 'Train' }).click();
    await expect(form.getByLabel('Horizon')).toHaveAttribute('aria-invalid', 'true');
    await expect(form.getByLabel('Horizon')).toHaveAccessibleDescription(/longer than/);
    await form.getByLabel('Horizon').fill('3');
    await expectAccessible(page, 'the train form');
    await form.getByRole('button', { name: 'Train' }).click();

    // The model's page: the training runs, then version 1 appears with its metrics beside the baselines.
    await expect(page).toHaveURL(/\/models\/mdl_[0-9A-Z]+$/);
    await expect(page.getByRole('heading', { name: modelName, level: 1 })).toBeVisible();
    await expect(page.getByRole('heading', { name: /^Version 1: / })).toBeVisible({ timeout: 60_000 });
    const metrics = page.getByRole('table', { name: 'Test metrics beside the baselines' });
    await expect(metrics.getByRole('columnheader', { name: 'skill' })).toBeVisible();
    await expect(metrics.getByRole('rowheader').first()).toContainText('model');
    await expect(page.getByRole('table', { name: 'Leaderboard' })).toContainText('ok');
    // The forecast chart with its band, drawn from the API's spec.
    const forecastChart = page.getByRole('region', { name: /^Actual and forecast/ });
    await expect(forecastChart.locator('.vega-chart-host[data-state="drawn"]')).toBeVisible({ timeout: 30_000 });

    await expectAccessible(page, 'the model page');
    await screenshotBothThemes(page, testInfo, 'model');

    // A second version (a retrain), then promote it from the versions table.
    const modelId = page.url().split('/').pop()!;
    const token = await apiToken();
    const retrain = await apiCall<{ job: { id: string } }>(token, 'POST', `/api/v1/models/${modelId}/versions`, {});
    await expect
      .poll(async () => (await apiCall<{ status: string }>(token, 'GET', `/api/v1/jobs/${retrain.job.id}`)).status)
      .toBe('succeeded');
    const versions = page.getByRole('table', { name: 'Versions' });
    await expect(versions.getByRole('rowheader', { name: 'v2' })).toBeVisible({ timeout: 30_000 });
    await versions.getByRole('button', { name: 'Promote version 2' }).click();
    await expect(versions.getByRole('row').filter({ hasText: 'v2' })).toContainText('current');
    await expect(versions.getByRole('button', { name: 'Promote version 1' })).toBeVisible();

    // Delete version 1, asked first.
    await versions.getByRole('button', { name: 'Delete version 1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete version' }).click();
    await expect(versions.getByRole('rowheader', { name: /^v1/ })).toHaveCount(0);

    // The list shows the model with its current version.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: modelName }) });
    await expect(row).toContainText('v2');
    await expectAccessible(page, 'the models list');
    await screenshotBothThemes(page, testInfo, 'models');
  });
});
