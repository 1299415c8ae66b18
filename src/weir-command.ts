/**
 * How hints in logs and CLI messages name the `weir` command. `npm install` puts no `weir` on the PATH; `npx weir`
 * runs the package's own bin (dist/weir.mjs) from anywhere in the checkout. (`npx weir --version` is npm's own
 * flag: the CLI's is `-V`.)
 */
export const WEIR_COMMAND = 'npx weir';

/** `weirCommand('login')` → "npx weir login". */
export function weirCommand(args: string): string {
  return `${WEIR_COMMAND} ${args}`;
}
