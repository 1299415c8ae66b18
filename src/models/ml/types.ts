/**
 * The contract between Weir's learning algorithms and the rest of the models domain. Everything under
 * src/models/ml is pure computation over typed arrays: no I/O, no database, no Weir services, so it runs the same
 * in a job thread, in the API process (inference) and in unit tests.
 *
 * Artifacts are plain JSON values (numbers, strings, arrays, objects; no typed arrays, no NaN: encode missing as
 * null), because they are stored as blobs in the `models/` area and read back after a restart.
 */

export type Task = 'forecast' | 'regression' | 'classification';
export type TabularTask = Exclude<Task, 'forecast'>;

/** What a fit reports while it runs; the `model.train` job forwards it to the job and the `model:<id>` topic. */
export interface FitProgress {
  /** e.g. 'fitting', 'selecting', 'refitting', 'backtesting'. */
  phase: string;
  algorithm: string;
  /** Epoch (neural), tree (GBDT), candidate (ridge strength), fold (backtest). */
  iteration?: number;
  of?: number;
  trainLoss?: number;
  validLoss?: number;
}

export interface FitOptions {
  /** Same seed and same data give the same artifact, bit for bit. */
  seed: number;
  /** Checked between iterations; an aborted fit rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Epoch ms after which an iterative fit stops early and keeps what it has (the time budget). */
  deadline?: number;
  progress?(p: FitProgress): void;
  /** Algorithm-specific hyper-parameters, validated by the algorithm (unknown keys are refused). */
  params?: Record<string, unknown>;
}

/** A numeric design matrix, column-major: one Float64Array per feature, all of length `rows`. NaN is missing. */
export interface Matrix {
  rows: number;
  columns: Float64Array[];
}

/** Rows of a tabular part. Classification targets are class indices 0..classes-1 (as floats). */
export interface TabularPart {
  x: Matrix;
  y: Float64Array;
}

/** What a tabular algorithm fits on. It never sees the test part: the caller keeps it. */
export interface TabularProblem {
  task: TabularTask;
  /** Number of classes (classification); 0 for regression. */
  classes: number;
  featureNames: string[];
  /** Which features are categorical codes (0..k-1, NaN missing) rather than measurements. */
  categorical: boolean[];
  train: TabularPart;
  validation: TabularPart;
}

export interface TabularAlgorithm<A = unknown> {
  name: string;
  tasks: readonly TabularTask[];
  fit(problem: TabularProblem, opts: FitOptions): Promise<A>;
  /** Regression: one value per row. Classification: row-major probabilities, rows × classes. */
  predict(artifact: A, x: Matrix, task: TabularTask, classes: number): Float64Array;
  /** Importance per feature (gain for trees), when the algorithm has its own notion of it. */
  importance?(artifact: A): number[];
}

/**
 * One or more series on a regular time step, aligned by index, split in time: indices [0, trainEnd) train,
 * [trainEnd, validEnd) validation. A forecast algorithm is handed only these indices (the test part is cut off
 * before it is called), in the scale the caller chose (normally standardized with train-part statistics).
 */
export interface SeriesProblem {
  /** Channel-independent series (several columns or several series ids), each of length validEnd. */
  series: Float64Array[];
  trainEnd: number;
  validEnd: number;
  horizon: number;
  /** Input window length of window models. */
  lookback: number;
  /** Seasonal period in steps, when known or detected. */
  period: number | null;
  /** Epoch ms of each index (shared by all series), for calendar features; null when the index is not time. */
  times: Float64Array | null;
  /** Step between indices in ms (null when `times` is null). */
  stepMs: number | null;
  /**
   * Past covariates shared by every series (scaled with train-part statistics, gaps filled, same index as `series`,
   * at least validEnd long). A window model may use their last `lookback` values before an origin.
   */
  exogenous?: ExogenousInputs;
}

/** Exogenous columns as model inputs: `series[k]` is column `names[k]`; `lookback` ≤ the target lookback. */
export interface ExogenousInputs {
  names: string[];
  series: Float64Array[];
  lookback: number;
}

export interface ForecastAlgorithm<A = unknown> {
  name: string;
  /** Smallest history (in steps) the algorithm needs before an origin. */
  minHistory(problem: Pick<SeriesProblem, 'lookback' | 'period' | 'horizon'>): number;
  fit(problem: SeriesProblem, opts: FitOptions): Promise<A>;
  /**
   * Forecasts `horizon` steps after each origin of one series: origin t means the history is series[0, t) and the
   * forecast covers t .. t+horizon-1. Returns origins.length × horizon values, row-major. `times` are those of
   * `series` (and beyond it, for calendar features of the forecast steps) or null. `exogenous` are the covariate
   * columns on the same index as `series` (scaled), for models fitted with them; other models ignore them.
   */
  forecast(
    artifact: A,
    series: Float64Array,
    origins: ArrayLike<number>,
    horizon: number,
    times: ((index: number) => number) | null,
    exogenous?: Float64Array[] | null,
  ): Float64Array;
}
