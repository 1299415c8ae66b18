import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/reader.js';
import { loadClientConfig } from './config.js';

describe('loadClientConfig', () => {
  it('defaults to the local server and strips a trailing slash', () => {
    expect(loadClientConfig({}).url).toBe('http://127.0.0.1:8080');
    expect(loadClientConfig({ WEIR_URL: 'http://weir:9000/' }).url).toBe('http://weir:9000');
    expect(() => loadClientConfig({ WEIR_URL: 'not a url' })).toThrow(ConfigError);
  });
});

describe('loadClientConfig: credentials and workspace', () => {
  const home = () => '/home/ada';

  it('has no token or workspace by default and keeps credentials under ~/.config/weir', () => {
    expect(loadClientConfig({}, home)).toEqual({
      url: 'http://127.0.0.1:8080',
      token: null,
      configDir: '/home/ada/.config/weir',
      workspace: null,
    });
  });

  it('reads WEIR_TOKEN and WEIR_WORKSPACE, treating blank values as unset', () => {
    const c = loadClientConfig({ WEIR_TOKEN: ' weir_key_x_y ', WEIR_WORKSPACE: 'ws_team1' }, home);
    expect(c.token).toBe('weir_key_x_y');
    expect(c.workspace).toBe('ws_team1');
    expect(loadClientConfig({ WEIR_TOKEN: '  ', WEIR_WORKSPACE: '' }, home)).toMatchObject({
      token: null,
      workspace: null,
    });
  });

  it('WEIR_CONFIG_DIR wins over XDG_CONFIG_HOME, which wins over the home directory', () => {
    expect(loadClientConfig({ WEIR_CONFIG_DIR: '/etc/weir-cli', XDG_CONFIG_HOME: '/xdg' }, home).configDir).toBe(
      '/etc/weir-cli',
    );
    expect(loadClientConfig({ WEIR_CONFIG_DIR: 'rel/dir' }, home).configDir).toBe(path.resolve('rel/dir'));
    expect(loadClientConfig({ XDG_CONFIG_HOME: '/xdg' }, home).configDir).toBe('/xdg/weir');
    // A relative XDG_CONFIG_HOME is invalid by the XDG spec and ignored.
    expect(loadClientConfig({ XDG_CONFIG_HOME: 'xdg' }, home).configDir).toBe('/home/ada/.config/weir');
  });

  it.each([
    ['WEIR_WORKSPACE', 'default', 'WEIR_WORKSPACE: expected a workspace id such as ws_default, got "default"'],
    ['WEIR_WORKSPACE', 'ws_a-b', 'WEIR_WORKSPACE: expected a workspace id such as ws_default, got "ws_a-b"'],
    ['WEIR_TOKEN', 'weir_a b', 'WEIR_TOKEN: expected a token without spaces'],
  ])('%s=%s is a configuration error naming the variable', (name, value, message) => {
    let error: unknown;
    try {
      loadClientConfig({ [name]: value }, home);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toContain(message);
    // The token is a secret: never echoed in the error.
    if (name === 'WEIR_TOKEN') expect((error as Error).message).not.toContain('weir_a');
  });
});
