import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { readyNotice } from './ready-notice.js';

const cwd = '/home/ada/weir';

describe('readyNotice', () => {
  it('on the embedded default: the URL, the first user to create, how to log in, the docs', () => {
    const config = loadConfig({ WEIR_DATA_DIR: path.join(cwd, 'data') });
    const notice = readyNotice(config, 'http://127.0.0.1:8080', true, cwd);
    expect(notice.next).toEqual({
      firstUser: 'npx weir admin create-user --email you@example.com',
      dashboard: 'http://127.0.0.1:8080/',
      login: 'npx weir login --email you@example.com',
      docs: 'http://127.0.0.1:8080/docs',
      walkthrough: 'README.md, "Walkthrough"',
    });
    expect(notice.text).toBe(
      [
        'Weir is ready at http://127.0.0.1:8080 (data in /home/ada/weir/data)',
        '  first user  npx weir admin create-user --email you@example.com   (no user exists yet; it asks for a password)',
        '  dashboard   http://127.0.0.1:8080/   (sign in in a browser)',
        '  CLI log in  npx weir login --email you@example.com',
        '  API docs    http://127.0.0.1:8080/docs',
        '  next        the walkthrough in README.md, "Walkthrough"; Ctrl-C stops the server',
      ].join('\n'),
    );
  });

  it('once a user exists, no first-user step', () => {
    const notice = readyNotice(
      loadConfig({ WEIR_DATA_DIR: path.join(cwd, 'data') }),
      'http://127.0.0.1:8080',
      false,
      cwd,
    );
    expect(notice.next.firstUser).toBeUndefined();
    expect(notice.text).not.toContain('create-user');
  });

  it("names this server's data directory, database file and URL where the CLI's defaults would miss them", () => {
    const elsewhere = readyNotice(
      loadConfig({ WEIR_DATA_DIR: "/srv/weir's data" }),
      'http://127.0.0.1:9090',
      true,
      cwd,
    );
    expect(elsewhere.next.firstUser).toBe(
      "WEIR_DATA_DIR='/srv/weir'\\''s data' npx weir admin create-user --email you@example.com",
    );
    expect(elsewhere.next.login).toBe('npx weir login --url http://127.0.0.1:9090 --email you@example.com');
    const file = readyNotice(
      loadConfig({ WEIR_DATA_DIR: path.join(cwd, 'data'), WEIR_DATABASE_URL: 'sqlite:/var/lib/weir/meta.db' }),
      'http://127.0.0.1:8080',
      true,
      cwd,
    );
    expect(file.next.firstUser).toBe(
      'WEIR_DATABASE_URL=sqlite:/var/lib/weir/meta.db npx weir admin create-user --email you@example.com',
    );
  });

  it('never prints a PostgreSQL URL, which may hold a password', () => {
    const notice = readyNotice(
      loadConfig({ WEIR_DATABASE_URL: 'postgres://weir:s3cret@db:5432/weir' }),
      'http://127.0.0.1:8080',
      true,
      cwd,
    );
    expect(notice.next.firstUser).toBe('npx weir admin create-user --email you@example.com');
    expect(notice.text).toContain("with the server's WEIR_DATABASE_URL set");
    expect(JSON.stringify(notice)).not.toContain('s3cret');
  });
});
