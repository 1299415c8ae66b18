#!/usr/bin/env node
import { Command } from 'commander';
import { registerClientCommands } from './cli/index.js';
import { ConfigError, loadConfig } from './config.js';
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
  .description('Start the Weir server (embedded default: SQLite, local disk, in-process engine). Configured by WEIR_* variables.')
  .action(async () => {
    const config = loadConfig();
    const [{ serve }, { createLogger }] = await Promise.all([import('./serve.js'), import('./logger.js')]);
    await serve(config, createLogger(config.logLevel));
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
    else console.log(applied.length > 0 ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date');
  });

registerClientCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ConfigError) {
    console.error(`weir: configuration error: ${e.message}`);
    process.exit(2);
  }
  console.error(`weir: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
