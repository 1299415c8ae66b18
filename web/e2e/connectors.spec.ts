import { createServer, type Server } from 'node:http';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import { connectAsync } from 'mqtt';
import {
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

/** Sends records as a device would: the connector's push key, no user credentials. */
async function push(connectorId: string, key: string, records: unknown[]) {
  const response = await fetch(`${serverUrl()}/api/v1/connectors/${connectorId}/records`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
  const body = (await response.json()) as { accepted: number; duplicates: number; rejected: number };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

/**
 * A ThingSpeak channel on 127.0.0.1 answering `feeds.json` in the documented shape (values as strings, labels in
 * `channel.fieldN`), one entry more at each request, so a sync after the test connection has something new.
 */
async function fakeThingSpeak(channelId: number): Promise<{ url: string; close: () => Promise<void> }> {
  let served = 2;
  const server: Server = createServer((request, response) => {
    if (request.url?.split('?')[0] !== `/channels/${channelId}/feeds.json`) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"404","error":"Not Found"}');
      return;
    }
    served++;
    const feeds = Array.from({ length: served }, (_, i) => ({
      created_at: new Date(Date.UTC(2026, 11, 6, 12, i)).toISOString().replace('.000', ''),
      entry_id: i + 1,
      field1: (20 + i / 4).toFixed(2),
      field2: String(50 - i),
    }));
    const channel = {
      id: channelId,
      name: 'Greenhouse',
      field1: 'Temperature',
      field2: 'Humidity',
      last_entry_id: served,
    };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ channel, feeds }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const MQTT_URL = process.env.WEIR_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** Whether the broker answers (Mosquitto; `.ci/run` starts it). Without it the MQTT test skips, unless CI requires it. */
async function brokerUp(): Promise<boolean> {
  const { hostname, port } = new URL(MQTT_URL);
  const up = await new Promise<boolean>((resolve) => {
    const socket = connectTcp(Number(port || 1883), hostname);
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (!up && process.env.WEIR_TEST_REQUIRE_MQTT === '1')
    throw new Error(`WEIR_TEST_REQUIRE_MQTT=1 but no MQTT broker answers at ${MQTT_URL}`);
  return up;
}

test.describe('connectors', () => {
  // The server is shared by every spec: the connectors made here (an MQTT subscription, a ThingSpeak schedule aimed
  // at a fake server that is gone) are deleted, so later specs run beside no background work of these.
  test.afterAll(async () => {
    const token = await apiToken();
    const { items } = await apiCall<{ items: { id: string }[] }>(token, 'GET', '/api/v1/connectors?limit=500');
    for (const c of items) await apiCall(token, 'DELETE', `/api/v1/connectors/${c.id}`);
  });

  test('creates a push connector from the form, shows its key once, and draws pushed records live', async ({
    page,
  }, testInfo) => {
    const name = unique('greenhouse');
    await signIn(page);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connectors' }).click();
    await expect(page.getByRole('heading', { name: 'Connectors', level: 1 })).toBeVisible();
    await page.getByRole('button', { name: 'New connector' }).click();
    const form = page.getByRole('form', { name: 'Create a connector' });
    await form.getByLabel('Source type').selectOption('push');
    // A push connector cannot be tried first: nothing to fetch a sample from.
    await expect(form.getByRole('button', { name: 'Test connection' })).toHaveCount(0);
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form
      .getByRole('textbox', { name: 'Fields', exact: true })
      .fill('at:timestamp\ntemp:double\nhumidity:double\nroom:varchar');
    await form.getByLabel('Key field').fill('at');
    await expectAccessible(page, 'the create form');
    await form.getByRole('button', { name: 'Create' }).click();

    // The connector's page, with the key shown this once.
    await expect(page).toHaveURL(/\/connectors\/con_[0-9A-Z]+$/);
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    const keyText = page.getByLabel('Push key');
    await expect(keyText).toHaveText(/\S{16,}/);
    const key = (await keyText.textContent())!.trim();
    const connectorId = page.url().split('/').pop()!;
    await expect(page.getByText('Waiting for records…')).toBeVisible();

    // Records pushed from outside arrive in the live view: the table, the counter and the chart.
    const start = Date.UTC(2026, 0, 1, 12);
    const readings = [0, 1, 2].map((i) => ({
      at: new Date(start + i * 60_000).toISOString(),
      temp: 21.5 + i,
      humidity: 40 + i,
      room: 'north bay',
    }));
    expect(await push(connectorId, key, readings)).toMatchObject({ accepted: 3, duplicates: 0, rejected: 0 });
    const recent = page.getByRole('table', { name: 'Latest records' });
    await expect(recent).toContainText('23.5');
    await expect(recent).toContainText('north bay');
    await expect(page.getByText(/^3 records received/)).toBeVisible();
    const chart = page
      .getByRole('region', { name: 'Live', exact: true })
      .locator('.vega-chart-host[data-state="drawn"]');
    await expect(chart).toBeVisible({ timeout: 30_000 });

    // More arrive (one a duplicate by the key field, which is dropped) and the view follows.
    expect(
      await push(connectorId, key, [readings[2], { at: new Date(start + 3 * 60_000).toISOString(), temp: 30.25 }]),
    ).toMatchObject({ accepted: 1, duplicates: 1 });
    await expect(recent).toContainText('30.25');
    await expect(page.getByRole('table', { name: 'Latest values' })).toContainText('30.25');
    await expectAccessible(page, 'the connector page');
    await screenshotBothThemes(page, testInfo, 'connector');

    // The key is shown once: the page read again shows no key, and a wrong key is refused.
    await page.reload();
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    await expect(page.getByLabel('Push key')).toHaveCount(0);
    const refused = await fetch(`${serverUrl()}/api/v1/connectors/${connectorId}/records`, {
      method: 'POST',
      headers: { authorization: 'Bearer wpk_wrong', 'content-type': 'application/json' },
      body: '[]',
    });
    await refused.body?.cancel();
    expect(refused.status).toBe(401);

    // Pause and resume from the page; the list shows the connector's state.
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect(page.getByRole('region', { name: 'Health' })).toContainText('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
    await page.getByRole('link', { name: 'Connectors' }).first().click();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name }) });
    await expect(row).toContainText('active');
    await expect(row).toContainText('Device push');
    await expectAccessible(page, 'the connectors list');
    await screenshotBothThemes(page, testInfo, 'connectors');

    const token = await apiToken();
    await apiCall(token, 'DELETE', `/api/v1/connectors/${connectorId}`);
  });

  test('tests a ThingSpeak channel before creating it, then syncs it now', async ({ page }) => {
    const source = await fakeThingSpeak(4242);
    try {
      const name = unique('thingspeak');
      await signIn(page);
      await page.goto('/connectors?create=1');
      const form = page.getByRole('form', { name: 'Create a connector' });
      await expect(form.getByLabel('Source type')).toHaveValue('thingspeak');
      await form.getByLabel('Name', { exact: true }).fill(name);
      await form.getByLabel('Channel id').fill('4242');
      await form.getByLabel('Server').fill(source.url);
      await form.getByLabel('Schedule').fill('');
      await form.getByRole('button', { name: 'Test connection' }).click();
      // The fields inferred from the labels, and the sample, before anything is stored.
      const inferred = form.getByRole('table', { name: 'Inferred fields' });
      await expect(inferred).toContainText('temperature');
      await expect(inferred).toContainText('humidity');
      await expect(form.getByRole('region', { name: 'Sample records' })).toContainText('20.25');
      await expectAccessible(page, 'the test result');
      await form.getByRole('button', { name: 'Use these fields' }).click();
      await expect(form.getByRole('textbox', { name: 'Fields', exact: true })).toHaveValue(/temperature:double/);
      await form.getByRole('button', { name: 'Create' }).click();

      await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
      await page.getByRole('button', { name: 'Sync now' }).click();
      const history = page.getByRole('table', { name: 'Sync history' });
      await expect(history.getByRole('row').filter({ hasText: 'manual' })).toContainText('succeeded');
      await expect(page.getByRole('table', { name: 'Latest values' })).toContainText('temperature');
      const id = page.url().split('/').pop()!;
      await apiCall(await apiToken(), 'DELETE', `/api/v1/connectors/${id}`);
    } finally {
      await source.close();
    }
  });

  test('subscribes to MQTT topics from the form and draws the published readings live', async ({ page }) => {
    test.skip(!(await brokerUp()), `no MQTT broker at ${MQTT_URL}`);
    const name = unique('mqtt');
    const prefix = `weir-e2e/${name}`;
    await signIn(page);
    await page.goto('/connectors?create=1');
    const form = page.getByRole('form', { name: 'Create a connector' });
    await form.getByLabel('Source type').selectOption('mqtt');
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Broker URL').fill(MQTT_URL);
    await form.getByLabel('Topics').fill(`${prefix}/+`);
    await form.getByLabel('Payload').selectOption('json');
    await form.getByRole('textbox', { name: 'Fields', exact: true }).fill('topic:varchar\ntemp:double');
    await form.getByRole('button', { name: 'Create' }).click();
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    // Messages published before the subscription would not be delivered: wait for it.
    await expect(page.getByRole('region', { name: 'Health' })).toContainText('connected', { timeout: 30_000 });

    const publisher = await connectAsync(MQTT_URL, { protocolVersion: 4 });
    try {
      for (const [device, temp] of [
        ['a', 18.5],
        ['b', 19.75],
      ] as const)
        await publisher.publishAsync(`${prefix}/${device}`, JSON.stringify({ temp }), { qos: 1 });
    } finally {
      await publisher.endAsync();
    }
    const recent = page.getByRole('table', { name: 'Latest records' });
    await expect(recent).toContainText('19.75');
    await expect(recent).toContainText(`${prefix}/a`);
    await expect(
      page.getByRole('region', { name: 'Live', exact: true }).locator('.vega-chart-host[data-state="drawn"]'),
    ).toBeVisible({ timeout: 30_000 });
    const id = page.url().split('/').pop()!;
    await apiCall(await apiToken(), 'DELETE', `/api/v1/connectors/${id}`);
  });

  test('shows what the server refuses at the field it names', async ({ page }) => {
    await signIn(page);
    await page.goto('/connectors?create=1');
    const form = page.getByRole('form', { name: 'Create a connector' });
    await form.getByLabel('Source type').selectOption('push');
    await form.getByLabel('Name').fill(unique('no columns'));
    // A push connector needs its columns: nothing to infer them from.
    await form.getByRole('button', { name: 'Create' }).click();
    await expect(form.getByRole('textbox', { name: 'Fields', exact: true })).toHaveAttribute('aria-invalid', 'true');
    await expect(form.getByRole('textbox', { name: 'Fields', exact: true })).toHaveAccessibleDescription(
      /list the columns/,
    );
    // A field list the form cannot read is refused before anything is sent.
    await form.getByRole('textbox', { name: 'Fields', exact: true }).fill('temp:float');
    await form.getByRole('button', { name: 'Create' }).click();
    await expect(form.getByRole('textbox', { name: 'Fields', exact: true })).toHaveAccessibleDescription(
      /the type is one of double/,
    );
    await expect(page).toHaveURL(/\/connectors\?create=1$/);
  });
});
