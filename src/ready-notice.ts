import path from 'node:path';
import { loadClientConfig } from './cli/config.js';
import type { Config } from './config.js';
import { weirCommand } from './weir-command.js';

export interface ReadyNotice {
  /** The next steps as fields of the JSON ready line. */
  next: { firstUser?: string; dashboard: string; login: string; docs: string; walkthrough: string };
  /** The same for a terminal: a short block a newcomer reads once. */
  text: string;
}

/**
 * What `weir serve` tells whoever started it once it listens: where it is, and what to do next. The commands are
 * exact for this server: `weir admin create-user` opens the database directly, so it is given the server's data
 * directory when that is not the default; `weir login` gets `--url` when the server is not where the CLI looks.
 * `cwd` is where relative defaults (./data) were resolved.
 */
export function readyNotice(config: Config, url: string, firstRun: boolean, cwd: string): ReadyNotice {
  const docs = `${url}/docs`;
  const dashboard = `${url}/`;
  const firstUser = firstRun
    ? `${storeEnv(config, cwd)}${weirCommand('admin create-user --email you@example.com')}`
    : undefined;
  // A PostgreSQL URL may hold a password: the hint names the variable, never its value.
  const firstUserNote = config.database.dialect === 'postgres' ? "with the server's WEIR_DATABASE_URL set; " : '';
  // The CLI talks to its default server unless told otherwise (WEIR_URL unset): a server elsewhere needs `--url`.
  const login = weirCommand(`login${url === loadClientConfig({}).url ? '' : ` --url ${url}`} --email you@example.com`);
  const walkthrough = 'README.md, "Walkthrough"';
  const rows: [string, string][] = [
    ...(firstUser
      ? [
          ['first user', `${firstUser}   (${firstUserNote}no user exists yet; it asks for a password)`] as [
            string,
            string,
          ],
        ]
      : []),
    ['dashboard', `${dashboard}   (sign in in a browser)`],
    ['CLI log in', login],
    ['API docs', docs],
    ['next', `the walkthrough in ${walkthrough}; Ctrl-C stops the server`],
  ];
  const store = config.database.dialect === 'postgres' ? 'PostgreSQL' : `data in ${config.dataDir}`;
  const text = [
    `Weir is ready at ${url} (${store})`,
    ...rows.map(([label, value]) => `  ${label.padEnd(11)} ${value}`),
  ].join('\n');
  return { next: { ...(firstUser ? { firstUser } : {}), dashboard, login, docs, walkthrough }, text };
}

/** The variables that point `weir admin` at this server's metadata database, when the defaults would not. */
function storeEnv(config: Config, cwd: string): string {
  if (config.database.dialect === 'postgres') return '';
  const defaultFile = path.join(config.dataDir, 'weir.db');
  const dataDir = config.dataDir === path.resolve(cwd, 'data') ? '' : `WEIR_DATA_DIR=${shellWord(config.dataDir)} `;
  return config.database.file === defaultFile
    ? dataDir
    : `${dataDir}WEIR_DATABASE_URL=${shellWord(`sqlite:${config.database.file}`)} `;
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
