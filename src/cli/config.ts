import { homedir } from 'node:os';
import path from 'node:path';
import { ConfigError, type Env } from '../config/reader.js';

/** Settings of the CLI client commands (they talk to a server over HTTP). */
export interface ClientConfig {
  url: string;
  /** WEIR_TOKEN (an API key or access token, for scripts): when set it wins over stored credentials. */
  token: string | null;
  /** Where `weir login` keeps credentials: WEIR_CONFIG_DIR, else $XDG_CONFIG_HOME/weir, else ~/.config/weir. */
  configDir: string;
  /** WEIR_WORKSPACE: sent as `x-weir-workspace`; null = the server picks the caller's default workspace. */
  workspace: string | null;
}

/** The shape the server accepts for `x-weir-workspace` (src/http/auth.ts). */
export const WORKSPACE_ID_PATTERN = /^ws_[A-Za-z0-9]{1,40}$/;

export function loadClientConfig(env: Env = process.env, home: () => string = homedir): ClientConfig {
  const url = (env.WEIR_URL ?? '').trim() || 'http://127.0.0.1:8080';
  try {
    new URL(url);
  } catch {
    throw new ConfigError('WEIR_URL', 'a URL such as http://127.0.0.1:8080', url);
  }
  const token = env.WEIR_TOKEN?.trim() || null;
  if (token !== null && /\s/.test(token))
    throw new ConfigError('WEIR_TOKEN', 'a token without spaces (an API key weir_… or an access token)', '<hidden>');
  const workspace = env.WEIR_WORKSPACE?.trim() || null;
  if (workspace !== null && !WORKSPACE_ID_PATTERN.test(workspace))
    throw new ConfigError('WEIR_WORKSPACE', 'a workspace id such as ws_default', workspace);
  return { url: url.replace(/\/$/, ''), token, configDir: clientConfigDir(env, home), workspace };
}

function clientConfigDir(env: Env, home: () => string): string {
  const explicit = env.WEIR_CONFIG_DIR?.trim();
  if (explicit) return path.resolve(explicit);
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME?.trim();
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'weir');
  return path.join(home(), '.config', 'weir');
}
