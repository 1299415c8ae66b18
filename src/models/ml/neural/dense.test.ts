import { describe, expect, it } from 'vitest';
import { forward, softmaxRows, type DenseNetwork } from './dense.js';

const network: DenseNetwork = {
  layers: [
    // 2 inputs → 2 hidden (ReLU): kernel row-major inputs × outputs.
    { inputs: 2, outputs: 2, kernel: [1, -1, 2, 1], bias: [0, 0.5] },
    { inputs: 2, outputs: 1, kernel: [3, -2], bias: [1] },
  ],
};

describe('forward', () => {
  it('applies ReLU on hidden layers only and handles several rows', () => {
    // Row (1, 1): hidden (3, 0.5) → 9 − 1 + 1 = 9. Row (1, −2): hidden (−3 → 0, −2.5 → 0) → 1. Row (0, −1): (−2 → 0, −0.5 → 0) → 1.
    // Row (−1, 0): hidden (−1 → 0, 1.5) → −3 + 1 = −2 (the output layer is linear).
    expect(Array.from(forward(network, Float64Array.from([1, 1, 1, -2, 0, -1, -1, 0]), 4))).toEqual([9, 1, 1, -2]);
  });
});

describe('softmaxRows', () => {
  it('normalizes each row and survives large logits', () => {
    const out = softmaxRows(Float64Array.from([0, Math.log(3), 1000, 1000]), 2);
    expect(out[0]).toBeCloseTo(0.25, 12);
    expect(out[1]).toBeCloseTo(0.75, 12);
    expect(Array.from(out.subarray(2))).toEqual([0.5, 0.5]);
  });
});
