import { apiCall, apiToken, expect, expectAccessible, screenshotBothThemes, signIn, test, unique } from './support';

const CSV = 'city,temp,day\nBerlin,31,2024-01-01\nParis,25,2024-01-02\nRome,35,2024-01-03\nOslo,12,2024-01-04\n';

/** Uploads a small CSV through the API and waits for its ingest job: the pipeline's input. */
async function uploadDataset(name: string): Promise<string> {
  const token = await apiToken();
  const form = new FormData();
  form.append('name', name);
  // A row of its own: an upload identical to an earlier one is answered with that dataset (no new job).
  form.append('file', new Blob([`${CSV}${name},15,2024-01-05\n`], { type: 'text/csv' }), `${name}.csv`);
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

test.describe('pipelines', () => {
  test('builds a pipeline from generated step forms, previews each step, shows an error at its field, and saves', async ({
    page,
  }, testInfo) => {
    const datasetName = unique('weather');
    const pipelineName = unique('hot days');
    await uploadDataset(datasetName);
    await signIn(page);

    // Through the navigation, as a person would (and without reloading the app).
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipelines' }).click();
    await page.getByRole('link', { name: 'New pipeline' }).click();
    await expect(page.getByRole('heading', { name: 'New pipeline' })).toBeVisible();
    await page.getByLabel('Name', { exact: true }).fill(pipelineName);
    await page.getByLabel('Input dataset').selectOption({ label: datasetName });
    await expect(page.getByRole('region', { name: 'Input rows' })).toContainText('Paris');

    // Step 1, a filter: its form comes from the filter step's JSON schema.
    await page.getByLabel('Step type').selectOption('filter');
    await page.getByRole('button', { name: 'Add step' }).click();
    const filter = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: /^Step 1 filter$/ }) });
    await expect(filter.getByText('Fill in this step to preview its rows.')).toBeVisible();
    await filter.getByLabel('Expression').fill('temp > 30');
    const filtered = filter.getByRole('region', { name: 'Output of step 1' });
    await expect(filtered).toContainText('Rome');
    await expect(filtered).not.toContainText('Paris');

    // Step 2, a derive with a misspelt column: the API's error is shown at the field its pointer names.
    await page.getByLabel('Step type').selectOption('derive');
    await page.getByRole('button', { name: 'Add step' }).click();
    const derive = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: /^Step 2 derive$/ }) });
    // Labels of required fields end in a marker that is hidden from the accessible name.
    await derive.getByLabel(/^Column( \*)?$/).fill('temp_f');
    await derive.getByLabel('Expression').fill('tmp * 9 / 5 + 32');
    const expression = derive.getByLabel('Expression');
    await expect(expression).toHaveAttribute('aria-invalid', 'true');
    await expect(expression).toHaveAccessibleDescription(/unknown column 'tmp'.*did you mean 'temp'/);
    // The step before the error keeps its preview.
    await expect(filtered).toContainText('Rome');

    await expression.fill('temp * 9 / 5 + 32');
    await expect(expression).not.toHaveAttribute('aria-invalid', 'true');
    const derived = derive.getByRole('region', { name: 'Output of step 2' });
    await expect(derived).toContainText('temp_f');
    await expect(derived).toContainText('95');

    await expectAccessible(page, 'the pipeline builder');
    await screenshotBothThemes(page, testInfo, 'pipeline-builder');

    // Save: the first version, at the pipeline's own address.
    await page.getByRole('button', { name: 'Save pipeline' }).click();
    await expect(page).toHaveURL(/\/pipelines\/pl_[0-9A-Z]+$/);
    await expect(page.getByRole('heading', { name: pipelineName, level: 1 })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Run version 1' })).toBeVisible();
  });

  test('runs a saved pipeline with live progress and links the output dataset', async ({ page }, testInfo) => {
    const datasetId = await uploadDataset(unique('weather'));
    const pipelineName = unique('warm days');
    const pipeline = await apiCall<{ id: string }>(await apiToken(), 'POST', '/api/v1/pipelines', {
      name: pipelineName,
      definition: { input: { datasetId }, steps: [{ type: 'filter', expression: 'temp > 20' }] },
    });
    await signIn(page);
    await page.goto(`/pipelines/${pipeline.id}`);

    // Progress comes live over the WebSocket, then the output dataset is linked.
    await page.getByRole('button', { name: 'Run version 1' }).click();
    await expect(page.getByRole('region', { name: 'This run' })).toContainText(/queued|running|succeeded/);
    const output = page.getByRole('link', { name: 'Open the output dataset' });
    await expect(output).toBeVisible({ timeout: 60_000 });
    await expect(page.getByRole('region', { name: 'This run' })).toContainText('Stored 3 rows');
    await expect(page.getByRole('region', { name: `Runs of ${pipelineName}` })).toContainText('succeeded');

    // At 375 px the builder is still usable: nothing overflows the page sideways.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await screenshotBothThemes(page, testInfo, 'pipeline-run-375');
    await page.setViewportSize({ width: 1280, height: 800 });

    await output.click();
    await expect(page).toHaveURL(/\/datasets\/ds_[0-9A-Z]+/);
  });

  test('lists saved pipelines with their versions and run history', async ({ page }, testInfo) => {
    const datasetName = unique('weather');
    const pipelineName = unique('cold days');
    const datasetId = await uploadDataset(datasetName);
    const token = await apiToken();
    const pipeline = await apiCall<{ id: string }>(token, 'POST', '/api/v1/pipelines', {
      name: pipelineName,
      definition: { input: { datasetId }, steps: [{ type: 'filter', expression: 'temp < 20' }] },
    });
    // Version 2 is a template: a threshold parameter in the filter's expression.
    await apiCall(token, 'PUT', `/api/v1/pipelines/${pipeline.id}`, {
      definition: {
        input: { datasetId },
        steps: [
          { type: 'filter', expression: 'temp < $limit' },
          { type: 'sort', by: [{ column: { $param: 'key' } }] },
        ],
        parameters: [
          { name: 'limit', type: 'number', default: 20 },
          { name: 'key', type: 'column', default: 'temp' },
        ],
      },
    });
    await apiCall(token, 'POST', `/api/v1/pipelines/${pipeline.id}/run?wait=true`, {});

    await signIn(page);
    await page.goto(`/pipelines?search=${encodeURIComponent(pipelineName)}`);
    const item = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: pipelineName }) });
    await expect(item).toContainText('v2');
    await expect(item).toContainText('2 steps');
    await expect(item).toContainText('template');
    await item.getByRole('button', { name: `Show runs of ${pipelineName}` }).click();
    await expect(item.getByRole('region', { name: `Runs of ${pipelineName}` })).toContainText('succeeded');

    await expectAccessible(page, 'the pipelines list');
    await screenshotBothThemes(page, testInfo, 'pipelines');

    // The builder opens the saved pipeline with its generated forms filled in.
    await item.getByRole('link', { name: pipelineName }).click();
    await expect(page.getByRole('heading', { name: /^Step 2 sort$/ })).toBeVisible();
    // Each parameter gets a value field; a step field holding a parameter shows which one.
    await expect(page.getByLabel('$limit')).toHaveAttribute('placeholder', '20');
    const sortKey = page.getByRole('group', { name: 'By 1' });
    await expect(sortKey.getByLabel(/^Column( \*)?$/)).toHaveValue('$key');
    await expect(sortKey.getByLabel('Column: a value or a parameter')).toHaveValue('key');
    await expect(page.getByRole('region', { name: 'Output of step 2' })).toContainText('Oslo');
  });
});
