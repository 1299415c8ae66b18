/**
 * The training loop shared by the MLP's tabular and forecasting faces: a dense ReLU network trained on tfjs (wasm
 * backend) with Adam, mini-batches shuffled by the seeded Random, dropout masks drawn from that same Random, and
 * early stopping on the validation loss with the best weights restored. Initial weights are drawn from Random too
 * (Glorot uniform), so the seed alone fixes the run: tfjs's own random streams are never used.
 */
import { Random } from '../random.js';
import type { Scalar } from '@tensorflow/tfjs-core';
import type { FitOptions, FitProgress } from '../types.js';
import type { DenseLayer, DenseNetwork } from './dense.js';
import { loadTf } from './tf.js';

/** Row-major examples: `rows` × `width` inputs and `rows` × outputs targets (one-hot for softmax). */
export interface Examples {
  rows: number;
  inputs: Float32Array;
  targets: Float32Array;
}

export interface NetworkConfig {
  inputs: number;
  outputs: number;
  hidden: number[];
  loss: 'mse' | 'softmax';
  dropout: number;
  learningRate: number;
  batchSize: number;
  epochs: number;
  patience: number;
}

export interface LossPoint {
  iteration: number;
  train: number | null;
  validation: number | null;
}

export interface TrainedNetwork {
  network: DenseNetwork;
  losses: LossPoint[];
  /** Epoch (1-based) whose weights were kept (a partial one when the deadline came before the first ended). */
  bestEpoch: number;
  stoppedBy: 'epochs' | 'patience' | 'deadline';
}

export async function trainNetwork(
  algorithm: string,
  train: Examples,
  validation: Examples,
  config: NetworkConfig,
  opts: FitOptions,
): Promise<TrainedNetwork> {
  opts.signal?.throwIfAborted();
  const { tf } = await loadTf();
  const random = new Random(opts.seed);
  const sizes = [config.inputs, ...config.hidden, config.outputs];
  const kernels = sizes.slice(1).map((outputs, l) => {
    const inputs = sizes[l] ?? 0;
    const limit = Math.sqrt(6 / (inputs + outputs));
    const values = new Float32Array(inputs * outputs);
    for (let i = 0; i < values.length; i++) values[i] = (random.next() * 2 - 1) * limit;
    return tf.variable(tf.tensor2d(values, [inputs, outputs]));
  });
  const biases = sizes.slice(1).map((outputs) => tf.variable(tf.zeros([outputs])));
  const variables = [...kernels, ...biases];
  const optimizer = tf.train.adam(config.learningRate);
  const xTrain = tf.tensor2d(train.inputs, [train.rows, config.inputs]);
  const yTrain = tf.tensor2d(train.targets, [train.rows, config.outputs]);
  const xValid = tf.tensor2d(validation.inputs, [validation.rows, config.inputs]);
  const yValid = tf.tensor2d(validation.targets, [validation.rows, config.outputs]);

  type Tensor2D = ReturnType<typeof tf.tensor2d>;
  const forward = (x: Tensor2D, masks: Tensor2D[] | null): Tensor2D => {
    let h = x;
    kernels.forEach((kernel, l) => {
      h = tf.add(tf.matMul(h, kernel), biases[l] ?? tf.scalar(0));
      if (l < kernels.length - 1) {
        h = tf.relu(h);
        const mask = masks?.[l];
        if (mask) h = tf.mul(h, mask);
      }
    });
    return h;
  };
  const lossOf = (y: Tensor2D, out: Tensor2D) =>
    config.loss === 'mse' ? tf.losses.meanSquaredError(y, out) : tf.losses.softmaxCrossEntropy(y, out);
  // Inverted dropout: kept units are scaled by 1/(1-p) so prediction needs no rescaling.
  const dropoutMasks = (rows: number): Tensor2D[] | null => {
    if (config.dropout <= 0) return null;
    const keep = 1 - config.dropout;
    return config.hidden.map((units) => {
      const values = new Float32Array(rows * units);
      for (let i = 0; i < values.length; i++) values[i] = random.next() < keep ? 1 / keep : 0;
      return tf.tensor2d(values, [rows, units]);
    });
  };
  const snapshot = () => variables.map((v) => Float32Array.from(v.dataSync()));

  const losses: LossPoint[] = [];
  let best = { loss: Infinity, epoch: 0, weights: snapshot() };
  let stoppedBy: TrainedNetwork['stoppedBy'] = 'epochs';
  const order = new Int32Array(train.rows);
  let lastYield = Date.now();
  try {
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      for (let i = 0; i < order.length; i++) order[i] = i;
      random.shuffle(order);
      let trainSum = 0;
      let seen = 0;
      for (let start = 0; start < order.length; start += config.batchSize) {
        // The batches run synchronously: yield now and then so an abort (or a timer) is seen within ~100 ms.
        if (Date.now() - lastYield > yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = Date.now();
        }
        opts.signal?.throwIfAborted();
        if (opts.deadline !== undefined && Date.now() >= opts.deadline) {
          stoppedBy = 'deadline';
          break;
        }
        const batch = order.subarray(start, Math.min(start + config.batchSize, order.length));
        const masks = dropoutMasks(batch.length);
        const indices = tf.tensor1d(batch, 'int32');
        const x = tf.gather(xTrain, indices);
        const y = tf.gather(yTrain, indices);
        const loss = optimizer.minimize(() => lossOf(y, forward(x, masks)) as Scalar, true, variables);
        trainSum += (loss?.dataSync()[0] ?? NaN) * batch.length;
        seen += batch.length;
        tf.dispose([indices, x, y, ...(masks ?? []), ...(loss ? [loss] : [])]);
      }
      if (stoppedBy === 'deadline' && seen < order.length) {
        // A partial epoch still counts when nothing better exists yet: the budget must yield some model.
        if (best.epoch === 0) best = { loss: Infinity, epoch: epoch, weights: snapshot() };
        break;
      }
      const validLoss = tf.tidy(() => lossOf(yValid, forward(xValid, null)).dataSync()[0] ?? NaN);
      const trainLoss = trainSum / Math.max(seen, 1);
      losses.push({ iteration: epoch, train: finiteOrNull(trainLoss), validation: finiteOrNull(validLoss) });
      const progress: FitProgress = {
        phase: 'fitting',
        algorithm,
        iteration: epoch,
        of: config.epochs,
        trainLoss,
        validLoss,
      };
      opts.progress?.(progress);
      if (validLoss < best.loss) best = { loss: validLoss, epoch, weights: snapshot() };
      else if (epoch - best.epoch >= config.patience) {
        stoppedBy = 'patience';
        break;
      }
      await yieldToEventLoop();
      lastYield = Date.now();
    }
  } finally {
    tf.dispose([xTrain, yTrain, xValid, yValid, ...variables]);
    optimizer.dispose();
  }
  opts.signal?.throwIfAborted();
  const layers: DenseLayer[] = sizes.slice(1).map((outputs, l) => ({
    inputs: sizes[l] ?? 0,
    outputs,
    kernel: Array.from(best.weights[l] ?? []),
    bias: Array.from(best.weights[kernels.length + l] ?? []),
  }));
  return { network: { layers }, losses, bestEpoch: best.epoch, stoppedBy };
}

const yieldEveryMs = 100;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
