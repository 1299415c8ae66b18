import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../config/reader.js';
import { loadClientConfig, WORKSPACE_ID_PATTERN } from './config.js';
import type { Problem } from './api-types.js';
import { ApiError, AuthRequiredError, UnreachableError, WeirClient } from './client.js';
import { CredentialsStore, sessionTokens } from './credentials.js';
import { clean } from './format.js';

/** The options every client command takes. */
export interface SharedOptions {
  json?: boolean;
  url?: string;
  workspace?: string;
}

export interface ClientContext {
  /** Authenticated: WEIR_TOKEN, else the credentials `weir login` stored for this server. */
  client: WeirClient;
  /** --json: stdout carries only machine-readable JSON. */
  json: boolean;
  /** The server's base URL (no trailing slash): the key of its stored credentials. */
  url: string;
  credentials: CredentialsStore;
  /** WEIR_TOKEN, which wins over stored credentials. */
  envToken: string | null;
}

function parseWorkspace(value: string): string {
  if (!WORKSPACE_ID_PATTERN.test(value)) throw new InvalidArgumentError('expected a workspace id such as ws_default');
  return value;
}

function parseUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL such as http://127.0.0.1:8080');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http:// or https:// URL');
  return value.trim().replace(/\/+$/, '');
}

/** Commander argument parser for non-negative integers (limits, offsets). */
export function integer(min: number) {
  return (value: string): number => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
    return n;
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function reportProblem(problem: Problem): void {
  const lines = [`weir: ${clean(problem.detail)}`];
  for (const e of problem.errors) {
    const where = clean(e.pointer);
    // Single-error problems repeat the detail as the message; the pointer is then the only news.
    lines.push(e.message === problem.detail ? `  at ${where}` : `  ${where}: ${clean(e.message)}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

/**
 * A failure the CLI finds itself that needs more than its `weir: …` line (an ambiguous name and its candidates):
 * `lines` are printed indented below it, already made safe for the terminal; `body` is printed on stdout with --json.
 */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly lines: string[] = [],
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** Prints a failure the way every client command does: one `weir: …` line on stderr, never a stack trace. */
function report(e: unknown, json: boolean): void {
  if (e instanceof CliFailure) {
    if (json && e.body !== undefined) printJson(e.body);
    process.stderr.write([`weir: ${clean(e.message)}`, ...e.lines.map((l) => `  ${l}`)].join('\n') + '\n');
  } else if (e instanceof AuthRequiredError) {
    if (json) printJson(e.problem);
    process.stderr.write(`weir: ${clean(e.hint)}\n`);
  } else if (e instanceof ApiError) {
    if (json) printJson(e.problem);
    reportProblem(e.problem);
  } else if (e instanceof UnreachableError) {
    process.stderr.write(`weir: ${e.message}\n`);
  } else {
    process.stderr.write(`weir: ${clean(e instanceof Error ? e.message : String(e))}\n`);
  }
}

let pipeGuarded = false;
/** `weir datasets download … | head` closes stdout early: that is the reader's choice, not an error to trace. */
function guardStdout(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`weir: cannot write to stdout: ${e.message}\n`);
    process.exit(e.code === 'EPIPE' ? 0 : 1);
  });
}

/**
 * Adds the shared options (--json, --url, --workspace) and the action to a client command. The handler gets a
 * ready, authenticated client; whatever it throws is reported here (exit code 1), except a ConfigError (bad
 * WEIR_URL), which main.ts reports.
 */
export function clientAction<O extends object>(
  command: Command,
  handler: (ctx: ClientContext, args: string[], opts: O & SharedOptions) => Promise<void>,
): Command {
  return command
    .option('--json', 'print machine-readable JSON (the API response) on stdout')
    .option('--url <url>', 'Weir server URL (default: $WEIR_URL, else http://127.0.0.1:8080)', parseUrl)
    .option(
      '--workspace <id>',
      'workspace to act in (default: $WEIR_WORKSPACE, else your default workspace)',
      parseWorkspace,
    )
    .action(async (...raw: unknown[]) => {
      const self = raw[raw.length - 1] as Command;
      const opts = self.opts<O & SharedOptions>();
      const json = opts.json === true;
      guardStdout();
      try {
        const config = loadClientConfig();
        const url = opts.url ?? config.url;
        const credentials = new CredentialsStore(config.configDir);
        const workspace = opts.workspace ?? config.workspace ?? undefined;
        const client = new WeirClient(url, sessionTokens(url, credentials, config.token), { workspace });
        await handler({ client, json, url, credentials, envToken: config.token }, self.args, opts);
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        report(e, json);
        process.exitCode = 1;
      }
    });
}

/** The n-th positional argument; commander has already enforced that required ones are present. */
export function arg(args: string[], n: number): string {
  const v = args[n];
  if (v === undefined) throw new Error(`missing argument ${n + 1}`);
  return v;
}
