import { describe, expect, it } from 'vitest';
import { loadTf } from './tf.js';

describe('loadTf', () => {
  it('loads tfjs once, on the wasm backend from the files on disk', async () => {
    const first = await loadTf();
    const second = await loadTf();
    expect(second.tf).toBe(first.tf);
    expect(first.tf.getBackend()).toBe('wasm');
    expect(typeof first.layers.sequential).toBe('function');
  });

  it('computes bit-identical results for the same inputs (the backend is deterministic single-threaded)', async () => {
    const { tf } = await loadTf();
    const values = Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i) * 0.37);
    const run = () =>
      tf.tidy(() => {
        const m = tf.tensor2d(values, [64, 64]);
        return Array.from(tf.sum(tf.relu(tf.matMul(m, m)), 0).dataSync());
      });
    expect(run()).toEqual(run());
  });
});
