/**
 * Lazy, synchronous loader for @bsull/augurs's ETS and MSTL (Rust compiled to wasm). Synchronous because
 * ForecastAlgorithm.forecast is: the ES module is loaded with require() (Node ≥ 22 loads ESM without top-level
 * await this way) and its bundled `*_bg.wasm` is instantiated from the file on disk with `initSync`, so nothing is
 * fetched and nothing is loaded until an ETS or MSTL model is fitted or used.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type AugursEts = typeof import('@bsull/augurs/ets');
export type AugursMstl = typeof import('@bsull/augurs/mstl');

interface WasmModule {
  initSync(module: { module: Uint8Array }): unknown;
}

let ets: AugursEts | null = null;
let mstl: AugursMstl | null = null;

function load<M extends WasmModule>(name: 'ets' | 'mstl'): M {
  const require = createRequire(import.meta.url);
  const specifier = `@bsull/augurs/${name}`;
  const module = require(specifier) as M;
  // The package does not export its .wasm files; they sit beside the module that needs them.
  const wasmFile = path.join(path.dirname(require.resolve(specifier)), `${name}_bg.wasm`);
  module.initSync({ module: readFileSync(wasmFile) });
  return module;
}

export function augursEts(): AugursEts {
  ets ??= load<AugursEts>('ets');
  return ets;
}

export function augursMstl(): AugursMstl {
  mstl ??= load<AugursMstl>('mstl');
  return mstl;
}
