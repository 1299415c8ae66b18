import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';
import { createLogger } from '../src/logger.js';
import { ADMIN, login, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/jobs.js';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
});

describe('first run', () => {
  it('has no default account: without bootstrap settings nobody can log in, and the log says how to create the first user', async () => {
    const t = await startTestApp({ WEIR_BOOTSTRAP_ADMIN_EMAIL: '', WEIR_BOOTSTRAP_ADMIN_PASSWORD: '' });
    apps.push(t);
    for (const [email, password] of [
      [ADMIN.email, ADMIN.password],
      ['admin@localhost', 'admin'],
      ['admin', 'admin'],
    ]) {
      const res = await fetch(`${t.api}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      expect([400, 401]).toContain(res.status);
    }
    // `npx weir`: `npm install` puts no `weir` on the PATH.
    const hint = t.logs.find((l) => String(l.msg).includes('`npx weir admin create-user --email you@example.com`'));
    expect(hint?.level).toBe('warn');
    expect(String(hint?.msg)).toContain('WEIR_BOOTSTRAP_ADMIN_EMAIL');
    // Said once: a supervised worker process opens the same empty database and leaves the hint to its server.
    if (t.context.queue.supervisor)
      await eventually(
        () => t.logs.find((l) => l.process === 'worker' && l.msg === 'job workers started'),
        'the worker process to start',
      );
    expect(t.logs.filter((l) => String(l.msg).startsWith('no users exist yet'))).toHaveLength(1);
    expect((await fetch(`${t.api}/datasets`)).status).toBe(401);
  });

  it('creates the first owner from the bootstrap settings, once: later starts ignore them', async () => {
    const t = await startTestApp();
    apps.push(t);
    const me = (await (await t.fetch(`${t.api}/auth/me`)).json()) as {
      user: { email: string; instanceAdmin: boolean };
      workspace: { id: string; role: string };
    };
    expect(me).toMatchObject({
      user: { email: ADMIN.email, instanceAdmin: true },
      workspace: { id: 'ws_default', role: 'owner' },
    });

    // A second start over the same database with other bootstrap settings changes nothing.
    const config = loadConfig({
      WEIR_DATA_DIR: t.dataDir,
      WEIR_DATABASE_URL:
        t.config.database.dialect === 'postgres' ? t.config.database.url : `sqlite:${t.config.database.file}`,
      WEIR_BOOTSTRAP_ADMIN_EMAIL: 'intruder@weir.test',
      WEIR_BOOTSTRAP_ADMIN_PASSWORD: 'another long password',
    });
    const second = await createContext(config, createLogger('silent'));
    await second.close();
    const users = await t.context.store.db.selectFrom('users').select('email').execute();
    expect(users.map((u) => u.email)).toEqual([ADMIN.email]);
    await expect(login(t.api, 'intruder@weir.test', 'another long password')).rejects.toThrow(/401/);
  });

  it('refuses half or weak bootstrap settings at start-up', () => {
    expect(() => loadConfig({ WEIR_BOOTSTRAP_ADMIN_EMAIL: 'a@b.c' })).toThrow(/WEIR_BOOTSTRAP_ADMIN_PASSWORD/);
    expect(() => loadConfig({ WEIR_BOOTSTRAP_ADMIN_EMAIL: 'a@b.c', WEIR_BOOTSTRAP_ADMIN_PASSWORD: 'short' })).toThrow(
      /at least 10/,
    );
    expect(() => loadConfig({ WEIR_JWT_SECRET: 'too short' })).toThrow(/WEIR_JWT_SECRET/);
    expect(() => loadConfig({ WEIR_INSECURE_DISABLE_AUTH: 'true', WEIR_HOST: '0.0.0.0' })).toThrow(/loopback/);
  });
});
