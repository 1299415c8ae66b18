/**
 * The multi-layer perceptron, in its two faces:
 * - `mlpTabular` (TabularAlgorithm 'mlp'): regression on a standardized target (MSE) or classification (softmax
 *   cross-entropy); numeric features standardized with train statistics and missing values imputed at the mean,
 *   small categorical features one-hot encoded (an unseen or missing code is all zeros).
 * - `mlpForecast` (ForecastAlgorithm 'mlp'): direct multi-output on lookback windows, channel-independent (windows
 *   of every series are pooled), inputs and targets normalized as in NLinear: minus the last input value.
 * Training is on tfjs (neural/train.ts); artifacts are JSON and prediction is a plain-TypeScript forward pass.
 */
import { Random } from '../random.js';
import type {
  FitOptions,
  ForecastAlgorithm,
  Matrix,
  SeriesProblem,
  TabularAlgorithm,
  TabularProblem,
  TabularTask,
} from '../types.js';
import { forward, softmaxRows, type DenseNetwork } from './dense.js';
import { InvalidParamError, readParams } from './params.js';
import { trainNetwork, type Examples, type LossPoint } from './train.js';

const commonSpecs = {
  hidden: { kind: 'ints', min: 1, max: 1024, maxLength: 4 },
  epochs: { kind: 'int', min: 1, max: 10_000 },
  batchSize: { kind: 'int', min: 1, max: 65_536 },
  learningRate: { kind: 'number', min: 1e-6, max: 1 },
  dropout: { kind: 'number', min: 0, max: 0.9 },
  patience: { kind: 'int', min: 1, max: 1000 },
} as const;
const forecastSpecs = { ...commonSpecs, maxWindows: { kind: 'int', min: 10, max: 1_000_000 } } as const;

export interface MlpParams {
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  dropout: number;
  patience: number;
}
export interface MlpForecastParams extends MlpParams {
  /** Training windows kept (a seeded subsample beyond it), which bounds an epoch's cost on long series. */
  maxWindows: number;
}

const tabularDefaults: MlpParams = {
  hidden: [64, 64],
  epochs: 200,
  batchSize: 64,
  learningRate: 1e-3,
  dropout: 0,
  patience: 15,
};
const forecastDefaults: MlpForecastParams = {
  hidden: [256],
  epochs: 100,
  batchSize: 128,
  learningRate: 1e-3,
  dropout: 0,
  patience: 10,
  maxWindows: 20_000,
};

/** Categorical codes with at most this many levels are one-hot encoded; more are treated as numbers. */
const maxOneHotLevels = 64;

export type InputEncoding = { kind: 'numeric'; mean: number; scale: number } | { kind: 'onehot'; levels: number };

export interface MlpTabularArtifact {
  kind: 'mlp-tabular';
  task: TabularTask;
  classes: number;
  params: MlpParams;
  inputs: InputEncoding[];
  /** Regression target standardization (predictions are mapped back); null for classification. */
  target: { mean: number; scale: number } | null;
  network: DenseNetwork;
  losses: LossPoint[];
  bestEpoch: number;
}

export const mlpTabular: TabularAlgorithm<MlpTabularArtifact> = {
  name: 'mlp',
  tasks: ['regression', 'classification'],

  async fit(problem: TabularProblem, opts: FitOptions): Promise<MlpTabularArtifact> {
    const params: MlpParams = { ...tabularDefaults, ...readParams(opts.params, commonSpecs) };
    const classification = problem.task === 'classification';
    if (problem.train.x.rows < 2) throw new InvalidParamError('/split', 'mlp needs at least 2 training rows');
    const inputs = problem.train.x.columns.map((column, j) => fitEncoding(column, problem.categorical[j] ?? false));
    const target = classification ? null : standardization(problem.train.y);
    const outputs = classification ? problem.classes : 1;
    const toExamples = (x: Matrix, y: Float64Array): Examples => {
      const targets = new Float32Array(x.rows * outputs);
      for (let r = 0; r < x.rows; r++) {
        const value = y[r] ?? NaN;
        if (target) targets[r] = (value - target.mean) / target.scale;
        else if (value >= 0 && value < outputs) targets[r * outputs + value] = 1;
      }
      return { rows: x.rows, inputs: Float32Array.from(encode(x, inputs)), targets };
    };
    let train = toExamples(problem.train.x, problem.train.y);
    let validation = toExamples(problem.validation.x, problem.validation.y);
    // Without a validation part, early stopping watches the last tenth of the training rows.
    if (validation.rows === 0) [train, validation] = splitTail(train, Math.max(1, Math.floor(train.rows / 10)));
    const trained = await trainNetwork(
      'mlp',
      train,
      validation,
      {
        ...params,
        inputs: train.inputs.length / Math.max(train.rows, 1),
        outputs,
        loss: classification ? 'softmax' : 'mse',
      },
      opts,
    );
    return {
      kind: 'mlp-tabular',
      task: problem.task,
      classes: problem.classes,
      params,
      inputs,
      target,
      network: trained.network,
      losses: trained.losses,
      bestEpoch: trained.bestEpoch,
    };
  },

  predict(artifact: MlpTabularArtifact, x: Matrix): Float64Array {
    const out = forward(artifact.network, encode(x, artifact.inputs), x.rows);
    if (artifact.target) {
      const { mean, scale } = artifact.target;
      for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) * scale + mean;
      return out;
    }
    return softmaxRows(out, artifact.classes);
  },
};

export interface MlpForecastArtifact {
  kind: 'mlp-forecast';
  lookback: number;
  /** Outputs of the network; longer forecasts are produced recursively. */
  horizon: number;
  params: MlpForecastParams;
  network: DenseNetwork;
  losses: LossPoint[];
  bestEpoch: number;
}

export const mlpForecast: ForecastAlgorithm<MlpForecastArtifact> = {
  name: 'mlp',

  minHistory: (problem) => problem.lookback,

  async fit(problem: SeriesProblem, opts: FitOptions): Promise<MlpForecastArtifact> {
    const params: MlpForecastParams = { ...forecastDefaults, ...readParams(opts.params, forecastSpecs) };
    const { lookback, horizon } = problem;
    const random = new Random(opts.seed ^ 0x5eed);
    let trainOrigins = windowOrigins(problem, lookback, problem.trainEnd);
    let validOrigins = windowOrigins(problem, Math.max(lookback, problem.trainEnd), problem.validEnd);
    if (trainOrigins.length === 0) {
      throw new InvalidParamError(
        '/horizon',
        `mlp needs at least lookback + horizon = ${lookback + horizon} training steps`,
      );
    }
    if (validOrigins.length === 0) {
      const cut = Math.max(1, Math.floor(trainOrigins.length / 5));
      validOrigins = trainOrigins.slice(trainOrigins.length - cut);
      trainOrigins = trainOrigins.slice(0, trainOrigins.length - cut);
      if (trainOrigins.length === 0) trainOrigins = validOrigins;
    }
    trainOrigins = subsample(trainOrigins, params.maxWindows, random);
    validOrigins = subsample(validOrigins, Math.max(10, Math.floor(params.maxWindows / 4)), random);
    const trained = await trainNetwork(
      'mlp',
      windowExamples(problem.series, trainOrigins, lookback, horizon),
      windowExamples(problem.series, validOrigins, lookback, horizon),
      { ...params, inputs: lookback, outputs: horizon, loss: 'mse' },
      opts,
    );
    return {
      kind: 'mlp-forecast',
      lookback,
      horizon,
      params,
      network: trained.network,
      losses: trained.losses,
      bestEpoch: trained.bestEpoch,
    };
  },

  forecast(
    artifact: MlpForecastArtifact,
    series: Float64Array,
    origins: ArrayLike<number>,
    horizon: number,
  ): Float64Array {
    const { lookback } = artifact;
    const out = new Float64Array(origins.length * horizon);
    for (let k = 0; k < origins.length; k++) {
      // Recursive beyond the trained horizon: the forecast so far becomes history for the next block.
      const history = filledWindow(series, origins[k] ?? 0, lookback);
      let produced = 0;
      while (produced < horizon) {
        const window = history.subarray(history.length - lookback);
        const last = window[lookback - 1] ?? 0;
        const input = new Float64Array(lookback);
        for (let i = 0; i < lookback; i++) input[i] = (window[i] ?? 0) - last;
        const step = forward(artifact.network, input, 1);
        const take = Math.min(step.length, horizon - produced);
        const next = new Float64Array(history.length + take);
        next.set(history);
        for (let h = 0; h < take; h++) {
          const value = (step[h] ?? 0) + last;
          out[k * horizon + produced + h] = value;
          next[history.length + h] = value;
        }
        produced += take;
        history.set(next.subarray(next.length - history.length));
      }
    }
    return out;
  },
};

function fitEncoding(column: Float64Array, categorical: boolean): InputEncoding {
  if (categorical) {
    let max = -1;
    for (const v of column) if (Number.isInteger(v) && v > max) max = v;
    if (max + 1 <= maxOneHotLevels) return { kind: 'onehot', levels: Math.max(max + 1, 1) };
  }
  return { kind: 'numeric', ...standardization(column) };
}

/** Mean and standard deviation over the finite values (scale 1 for a constant or empty column). */
function standardization(values: Float64Array): { mean: number; scale: number } {
  let n = 0;
  let sum = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    sum += v;
    n++;
  }
  const mean = n > 0 ? sum / n : 0;
  let squares = 0;
  for (const v of values) if (Number.isFinite(v)) squares += (v - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(squares / n) : 0;
  return { mean, scale: sd > 0 ? sd : 1 };
}

/** Row-major network inputs; a missing numeric value becomes 0 after standardizing, i.e. the train mean. */
export function encode(x: Matrix, inputs: InputEncoding[]): Float64Array {
  const width = inputs.reduce((w, e) => w + (e.kind === 'onehot' ? e.levels : 1), 0);
  const out = new Float64Array(x.rows * width);
  let offset = 0;
  inputs.forEach((encoding, j) => {
    const column = x.columns[j];
    if (!column) throw new RangeError(`feature ${j} is missing from the input matrix`);
    for (let r = 0; r < x.rows; r++) {
      const v = column[r] ?? NaN;
      if (encoding.kind === 'numeric')
        out[r * width + offset] = Number.isFinite(v) ? (v - encoding.mean) / encoding.scale : 0;
      else if (Number.isInteger(v) && v >= 0 && v < encoding.levels) out[r * width + offset + v] = 1;
    }
    offset += encoding.kind === 'onehot' ? encoding.levels : 1;
  });
  return out;
}

function splitTail(examples: Examples, tail: number): [Examples, Examples] {
  const head = examples.rows - tail;
  const inWidth = examples.inputs.length / examples.rows;
  const outWidth = examples.targets.length / examples.rows;
  return [
    {
      rows: head,
      inputs: examples.inputs.slice(0, head * inWidth),
      targets: examples.targets.slice(0, head * outWidth),
    },
    { rows: tail, inputs: examples.inputs.slice(head * inWidth), targets: examples.targets.slice(head * outWidth) },
  ];
}

interface WindowOrigin {
  series: number;
  origin: number;
}

/** Origins t in [from, end − horizon] of every series whose window [t − lookback, t + horizon) has no missing value. */
function windowOrigins(problem: SeriesProblem, from: number, end: number): WindowOrigin[] {
  const origins: WindowOrigin[] = [];
  problem.series.forEach((values, s) => {
    for (let t = Math.max(from, problem.lookback); t + problem.horizon <= end; t++) {
      let complete = true;
      for (let i = t - problem.lookback; i < t + problem.horizon && complete; i++)
        complete = Number.isFinite(values[i] ?? NaN);
      if (complete) origins.push({ series: s, origin: t });
    }
  });
  return origins;
}

/** A seeded subsample of at most `max` origins, kept in their original order. */
function subsample(origins: WindowOrigin[], max: number, random: Random): WindowOrigin[] {
  if (origins.length <= max) return origins;
  const picked = random
    .shuffle(Array.from(origins.keys()))
    .slice(0, max)
    .sort((a, b) => a - b);
  return picked.map((i) => origins[i] as WindowOrigin);
}

function windowExamples(series: Float64Array[], origins: WindowOrigin[], lookback: number, horizon: number): Examples {
  const inputs = new Float32Array(origins.length * lookback);
  const targets = new Float32Array(origins.length * horizon);
  origins.forEach(({ series: s, origin }, k) => {
    const values = series[s] as Float64Array;
    const last = values[origin - 1] ?? 0;
    for (let i = 0; i < lookback; i++) inputs[k * lookback + i] = (values[origin - lookback + i] ?? 0) - last;
    for (let h = 0; h < horizon; h++) targets[k * horizon + h] = (values[origin + h] ?? 0) - last;
  });
  return { rows: origins.length, inputs, targets };
}

/** series[origin − lookback, origin) with missing values carried forward (backward at the start, 0 if none). */
function filledWindow(series: Float64Array, origin: number, lookback: number): Float64Array {
  const window = new Float64Array(lookback).fill(NaN);
  for (let i = 0; i < lookback; i++) {
    const index = origin - lookback + i;
    if (index >= 0 && index < series.length) window[i] = series[index] ?? NaN;
  }
  const firstFinite = window.find((v) => Number.isFinite(v)) ?? 0;
  let carry = firstFinite;
  for (let i = 0; i < lookback; i++) {
    const v = window[i] ?? NaN;
    if (Number.isFinite(v)) carry = v;
    else window[i] = carry;
  }
  return window;
}
