import type { Command } from 'commander';

/** Client commands (they talk to a running server over HTTP). */
export function registerClientCommands(_program: Command): void {}
