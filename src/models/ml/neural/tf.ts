/**
 * Lazy loader for TensorFlow.js on the WebAssembly backend. Nothing here is imported at server start-up: the
 * algorithms call `loadTf()` inside fit(), so `weir serve` pays for tfjs only when a neural model is trained.
 * Prediction never needs tfjs (neural/dense.ts does the forward pass in plain TypeScript).
 *
 * The .wasm binaries ship inside @tensorflow/tfjs-backend-wasm; `setWasmPaths` points at that folder on disk so
 * nothing is ever fetched. The non-threaded backend is used (no SharedArrayBuffer workers), which keeps results
 * bit-identical from run to run for the same seed.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

export type TfCore = typeof import('@tensorflow/tfjs-core');
export type TfLayers = typeof import('@tensorflow/tfjs-layers');

export interface Tf {
  tf: TfCore;
  layers: TfLayers;
}

/** The wasm backend could not start; training neural models is impossible in this process. */
export class TfBackendError extends Error {
  constructor(cause: unknown) {
    super(
      `the TensorFlow.js wasm backend failed to initialise: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'TfBackendError';
  }
}

let loading: Promise<Tf> | null = null;

/** Loads tfjs once per process and makes 'wasm' the active backend. A failure is remembered only until retried. */
export function loadTf(): Promise<Tf> {
  loading ??= initialise().catch((error: unknown) => {
    loading = null;
    throw error instanceof TfBackendError ? error : new TfBackendError(error);
  });
  return loading;
}

async function initialise(): Promise<Tf> {
  const [tf, layers, wasm] = await Promise.all([
    import('@tensorflow/tfjs-core'),
    import('@tensorflow/tfjs-layers'),
    import('@tensorflow/tfjs-backend-wasm'),
  ]);
  if (tf.getBackend() !== 'wasm') {
    const require = createRequire(import.meta.url);
    const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(`${path.dirname(wasmFile)}${path.sep}`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const ok = await tf.setBackend('wasm');
    if (!ok || tf.getBackend() !== 'wasm') throw new TfBackendError('setBackend("wasm") returned false');
    await tf.ready();
  }
  return { tf, layers };
}
