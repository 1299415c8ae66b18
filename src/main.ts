#!/usr/bin/env node
import { isMainThread, workerData } from 'node:worker_threads';
import { Command, Option } from 'commander';
import { registerClientCommands } from './cli/index.js';
import { ConfigError, loadConfig } from './config.js';
import { setJobThreadEntry } from './jobs/threads/entry-url.js';
import { isJobThreadData } from './jobs/threads/protocol.js';
import { readVersion } from './version.js';

/**
 * The `weir` command: parses arguments and hands over; nothing else happens here. Server modules are imported
 * only by the commands that need them, so client commands start fast.
 */
const program = new Command('weir')
  .description('Weir: a self-hosted data-processing backend')
  .version(readVersion())
  .showHelpAfterError();

program
  .command('serve')
  .description(
    'Start the Weir server (embedded default: SQLite, local disk, in-process engine). Configured by WEIR_* variables.',
  )
  .option('--no-workers', 'serve the API only: start no job worker process (jobs run in `weir worker` processes)')
  .action(async (opts: { workers: boolean }) => {
    const config = loadConfig();
    const [{ serve }, { createLogger }, { logOutput }] = await Promise.all([
      import('./serve.js'),
      import('./logger.js'),
      import('./log-output.js'),
    ]);
    // Job threads load this very file (see src/jobs/threads/entry-url.ts).
    setJobThreadEntry(new URL(import.meta.url));
    const output = logOutput(config.logFormat, process.stdout);
    await serve(config, createLogger(config.logLevel, output.destination), {
      workers: opts.workers,
      workerLog: output.writeLine,
      // On a terminal, the URL and the next steps as a block of text; in JSON they are fields of the ready line.
      announce: output.pretty ? (text) => void process.stdout.write(`${text}\n`) : undefined,
    });
  });

program
  .command('worker')
  .description(
    'Run job workers only (no HTTP): BullMQ when WEIR_REDIS_URL is set, else claiming from a PostgreSQL WEIR_DATABASE_URL. SIGTERM stops gracefully.',
  )
  .action(async () => {
    const config = loadConfig();
    const [{ runWorker }, { createLogger }, { logOutput }] = await Promise.all([
      import('./jobs/worker-process.js'),
      import('./logger.js'),
      import('./log-output.js'),
    ]);
    setJobThreadEntry(new URL(import.meta.url));
    await runWorker(config, createLogger(config.logLevel, logOutput(config.logFormat, process.stdout).destination));
  });

// Started by `weir serve` with an IPC channel (src/jobs/supervisor.ts); hidden from help.
program
  .command('supervised-worker', { hidden: true })
  .description('the job worker process `weir serve` starts and supervises')
  .action(async () => {
    const { runSupervisedWorker } = await import('./jobs/supervised-worker.js');
    setJobThreadEntry(new URL(import.meta.url));
    runSupervisedWorker();
  });

program
  .command('migrate')
  .description('Apply database migrations and exit')
  .option('--json', 'print the result as JSON')
  .action(async (opts: { json?: boolean }) => {
    const config = loadConfig();
    const { migrateOnly } = await import('./context.js');
    const applied = await migrateOnly(config);
    if (opts.json) console.log(JSON.stringify({ applied, database: config.database.dialect }));
    else
      console.log(
        applied.length > 0 ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date',
      );
  });

interface CreateUserOptions {
  email: string;
  password?: string;
  passwordStdin?: boolean;
  role?: string;
  workspace: string;
  instanceAdmin?: boolean;
  name?: string;
  json?: boolean;
}

const admin = program
  .command('admin')
  .description(
    'Server administration over the metadata database (WEIR_DATA_DIR / WEIR_DATABASE_URL); no server needs to run',
  );

admin
  .command('create-user')
  .description(
    'Create a user. The first user of an instance becomes an instance administrator and owner of ws_default (as WEIR_BOOTSTRAP_ADMIN_* would do).',
  )
  .requiredOption('--email <email>', 'email address (the login name)')
  .option('--password-stdin', 'read the password from the first line of stdin')
  .addOption(
    new Option(
      '--password <password>',
      'the password (visible to other users of this machine: prefer --password-stdin)',
    ).conflicts('passwordStdin'),
  )
  .option('--role <role>', 'role in the workspace (default: viewer)')
  .option('--workspace <id>', 'workspace the user joins', 'ws_default')
  .option('--instance-admin', 'also make the user an instance administrator (system:admin)')
  .option('--name <display name>', 'display name (default: the part of the email before @)')
  .option('--json', 'print the created user as JSON')
  .action(async (opts: CreateUserOptions) => {
    const config = loadConfig();
    if (opts.email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(opts.email.trim()))
      throw new Error(`--email: expected an email address, got ${JSON.stringify(opts.email)}`);
    const prompt = await import('./cli/prompt.js');
    let password = opts.password;
    if (password === undefined && opts.passwordStdin) password = await prompt.readStdinLine();
    if (password === undefined) {
      if (!process.stdin.isTTY) throw new Error('no password: give --password-stdin (or --password)');
      password = await prompt.promptHidden('Password: ');
      if ((await prompt.promptHidden('Repeat password: ')) !== password) throw new Error('the passwords do not match');
    }
    const [{ createUserOffline }, { createLogger }, { ROLES }, { logOutput }] = await Promise.all([
      import('./identity/admin.js'),
      import('./logger.js'),
      import('./identity/permissions.js'),
      import('./log-output.js'),
    ]);
    const role = ROLES.find((r) => r === (opts.role ?? 'viewer'));
    if (!role) throw new Error(`--role: expected one of ${ROLES.join(', ')}, got ${JSON.stringify(opts.role)}`);
    // Logs go to stderr: stdout carries only the user id (or JSON).
    const log = createLogger(
      config.logLevel === 'info' ? 'warn' : config.logLevel,
      logOutput(config.logFormat, process.stderr).destination,
    );
    const made = await createUserOffline(
      config,
      {
        email: opts.email,
        password,
        displayName: opts.name,
        role,
        workspaceId: opts.workspace,
        instanceAdmin: opts.instanceAdmin === true,
      },
      log,
    );
    if (made.first && (opts.role !== undefined || opts.workspace !== 'ws_default'))
      process.stderr.write('note: the first user is always owner of ws_default; --role and --workspace were ignored\n');
    if (opts.json) console.log(JSON.stringify(made.user));
    else {
      console.log(made.user.id);
      process.stderr.write(
        `created ${made.user.email}: ${made.role} of ${made.workspaceId}${made.instanceAdmin ? ', instance administrator' : ''}\n`,
      );
    }
  });

admin
  .command('clear-ip-rules')
  .description(
    "Empty a workspace's IP allow and deny lists: the way back when they shut out everyone who could change them",
  )
  .argument('<workspace>', 'workspace id, e.g. ws_default')
  .option('--json', 'print the workspace as it was (with the rules removed) as JSON')
  .action(async (workspaceId: string, opts: { json?: boolean }) => {
    const config = loadConfig();
    const [{ clearNetworkRulesOffline }, { createLogger }, { logOutput }] = await Promise.all([
      import('./identity/admin.js'),
      import('./logger.js'),
      import('./log-output.js'),
    ]);
    const log = createLogger(
      config.logLevel === 'info' ? 'warn' : config.logLevel,
      logOutput(config.logFormat, process.stderr).destination,
    );
    const before = await clearNetworkRulesOffline(config, workspaceId, log);
    if (opts.json) console.log(JSON.stringify(before));
    else {
      const list = (rules: string[]) => (rules.length > 0 ? rules.join(', ') : 'none');
      console.log(
        `cleared the IP rules of ${before.id}: allow was ${list(before.ipAllow)}; deny was ${list(before.ipDeny)}`,
      );
    }
  });

registerClientCommands(program);

if (!isMainThread && isJobThreadData(workerData)) {
  // A job thread of the pool (src/jobs/threads/pool.ts) loaded this file: run jobs, not the CLI.
  const { runJobThread } = await import('./jobs/threads/entry.js');
  runJobThread(workerData);
} else {
  program.parseAsync(process.argv).catch((e: unknown) => {
    if (e instanceof ConfigError) {
      console.error(`weir: configuration error: ${e.message}`);
      process.exit(2);
    }
    console.error(`weir: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
