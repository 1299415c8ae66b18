/** Types of scripts/bundle-freshness.mjs for the tests that import it. */
export declare const BUNDLE_INPUTS: readonly string[];
export declare const WEB_INPUTS: readonly string[];
export declare function bundleStaleness(
  root: string,
  options?: { bundle?: string; inputs?: readonly string[] },
): Promise<string | null>;
