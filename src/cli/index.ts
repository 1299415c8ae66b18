import type { Command } from 'commander';
import { registerAuthCommands } from './auth.js';
import { registerAnalytics } from './analytics.js';
import { registerConnectors } from './connectors.js';
import { registerDatasets } from './datasets.js';
import { registerInvitations } from './invitations.js';
import { registerJobs } from './jobs.js';
import { registerKeys } from './keys.js';
import { registerLineage } from './lineage.js';
import { registerModels } from './models.js';
import { registerPipelines } from './pipelines.js';
import { registerStorage } from './storage.js';
import { registerUpload } from './upload.js';

/** Client commands: they talk to a running Weir server over HTTP (WEIR_URL or --url). */
export function registerClientCommands(program: Command): void {
  // Without this the root's `-V, --version` also matches after a subcommand, so
  // `weir datasets preview <id> --version dv_…` would print Weir's version instead of selecting a dataset version.
  program.enablePositionalOptions();
  registerUpload(program);
  const datasets = registerDatasets(program);
  registerAnalytics(datasets);
  registerLineage(datasets);
  registerPipelines(program);
  registerModels(program);
  registerConnectors(program);
  registerJobs(program);
  registerAuthCommands(program);
  registerKeys(program);
  registerInvitations(program);
  registerStorage(program);
}
