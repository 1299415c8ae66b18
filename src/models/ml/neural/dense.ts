/**
 * A dense feed-forward network as plain JSON and its forward pass in plain TypeScript. Training happens on tfjs
 * (neural/train.ts); prediction runs here, so inference loads no tfjs and a single row costs microseconds.
 */

export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** Row-major inputs × outputs, as tfjs stores a dense kernel. */
  kernel: number[];
  bias: number[];
}

/** Hidden layers use ReLU; the last layer is linear (softmax, if any, is applied by the caller). */
export interface DenseNetwork {
  layers: DenseLayer[];
}

/** Forward pass of `rows` row-major inputs; returns rows × outputs row-major. */
export function forward(network: DenseNetwork, input: Float64Array, rows: number): Float64Array {
  let current = input;
  const last = network.layers.length - 1;
  network.layers.forEach((layer, index) => {
    const out = new Float64Array(rows * layer.outputs);
    const { kernel, bias, inputs, outputs } = layer;
    for (let r = 0; r < rows; r++) {
      const inBase = r * inputs;
      const outBase = r * outputs;
      for (let o = 0; o < outputs; o++) out[outBase + o] = bias[o] ?? 0;
      for (let i = 0; i < inputs; i++) {
        const x = current[inBase + i] ?? 0;
        if (x === 0) continue;
        const kBase = i * outputs;
        for (let o = 0; o < outputs; o++) out[outBase + o] = (out[outBase + o] ?? 0) + x * (kernel[kBase + o] ?? 0);
      }
      if (index < last) for (let o = 0; o < outputs; o++) if ((out[outBase + o] ?? 0) < 0) out[outBase + o] = 0;
    }
    current = out;
  });
  return current;
}

/** Softmax over each row of a rows × width row-major matrix, in place. */
export function softmaxRows(values: Float64Array, width: number): Float64Array {
  for (let base = 0; base < values.length; base += width) {
    let max = -Infinity;
    for (let k = 0; k < width; k++) max = Math.max(max, values[base + k] ?? -Infinity);
    let sum = 0;
    for (let k = 0; k < width; k++) {
      const e = Math.exp((values[base + k] ?? 0) - max);
      values[base + k] = e;
      sum += e;
    }
    for (let k = 0; k < width; k++) values[base + k] = (values[base + k] ?? 0) / sum;
  }
  return values;
}
