/**
 * A second thread for histogram building: the fit thread hands it the upper half of a large node's rows and sums
 * its partial histogram with its own (and likewise the upper half of a large node's partition, of the last level's
 * leaf assignment and of the leaf sums). The machine has 2 cores and XGBoost's reference time uses both; the job's
 * worker thread is the first. Shared memory only (SharedArrayBuffer + Atomics), no messages, so handing over a
 * node costs microseconds. The helper's code is the same `accumulatePacked` function (and the same generator of the
 * all-features kernel), passed as source text, so it works from src (vitest), dist and bundles alike. Partial sums
 * are integers (packed gradients), so the result is bit-identical to a single-threaded build.
 */
import { Worker } from 'node:worker_threads';
import { BIN_SLOTS } from './binning.js';
import {
  accumulatePacked,
  FULL_ROW_KERNEL_MAX_FEATURES,
  fullRowKernelSource,
  packRange,
  type GradientPacking,
} from './histogram.js';
import { logLossRange } from './objective.js';
import { assignLeafRange, partitionRange, sumLeafRange } from './partition.js';

export interface HelperArrays {
  rowBins: Uint8Array;
  featureCount: number;
  rows: Uint32Array;
  packed: Float64Array;
  /** Column-major bins (what partitions read). */
  columns: readonly Uint8Array[];
  /** The partition's scratch rows. */
  scratch: Uint32Array;
  goLeft: Uint8Array;
  /** Each row's leaf (see TreeGrower.leafOf). */
  leafOf: Uint32Array;
  /** Every output's gradients and hessians, as the fit computes them. */
  grad: Float64Array;
  hess: Float64Array;
  /** The raw scores and the labels (log-loss gradients). */
  score: Float64Array;
  labels: Float64Array;
  /** The most leaves a tree can have (the size of the helper's leaf sums). */
  maxLeaves: number;
}

const IDLE = 0;
const WORK = 1;
const DONE = 2;
const EXIT = 3;
/** The helper's kernel threw: the fit thread must not wait for a result that will never come. */
const FAILED = 4;
/** The helper has claimed the posted work (see `finish`). */
const RUNNING = 5;

/**
 * Control words: state, start, end, used feature count, whether `rows` applies (1) or rows are start..end-1 (0),
 * task (below), the split's feature, the partition's left count (result), the first leaf (leaf assignment), the
 * gradients' offset and the leaf count (leaf sums), whether the helper sleeps (1) and whether the fit thread does.
 */
const CONTROL_WORDS = 13;
const HELPER_SLEEPS = 11;
const FIT_SLEEPS = 12;
/**
 * How many times a thread polls the state word before it sleeps (about 10 µs): the two halves of a task finish
 * close together and the next task often follows within microseconds, while waking a sleeping thread costs a futex
 * call on each side. A thread only notifies the other when that one has said it sleeps. Kept short: on a busy
 * machine a spinning thread takes the time slice the other one needs (in one side-by-side run on a loaded machine,
 * 20,000 polls made a 1M-row fit 15% slower).
 */
const SPINS = 2000;
/**
 * After this many hand-overs in a row that the fit thread had to take back, it does the next BACKOFF ones alone:
 * the helper is then descheduled (a busy machine) and posting work only costs the fit thread futex wake-ups (a
 * tenth of a 200k-row fit when one of the two cores was taken by another process). Only hand-overs of at least
 * BACKOFF_MIN_ROWS rows count: the fit thread's half of a smaller one can be done before an idle helper wakes up.
 */
const MISSES_BEFORE_BACKOFF = 3;
const BACKOFF = 32;
const BACKOFF_MIN_ROWS = 32_768;
const HISTOGRAM = 0;
const PARTITION = 1;
const ASSIGN_LEAVES = 2;
const LEAF_SUMS = 3;
const LOG_LOSS = 4;
const PACK = 5;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const accumulatePacked = ${accumulatePacked.toString()};
const partitionRange = ${partitionRange.toString()};
const fullRowKernelSource = ${fullRowKernelSource.toString()};
const assignLeafRange = ${assignLeafRange.toString()};
const sumLeafRange = ${sumLeafRange.toString()};
const logLossRange = ${logLossRange.toString()};
const packRange = ${packRange.toString()};
const { control, scratch, rowBins, featureCount, features, rows, packed, columns, rowScratch, goLeft, leafOf, grad, hess,
  leafGrad, leafHess, score, labels, lossResult } = workerData;
const fullRow = featureCount <= ${FULL_ROW_KERNEL_MAX_FEATURES} ? new Function('return ' + fullRowKernelSource(featureCount))() : null;
for (;;) {
  let state = Atomics.load(control, 0);
  for (let spin = 0; spin < ${SPINS} && state !== ${WORK} && state !== ${EXIT}; spin++) state = Atomics.load(control, 0);
  if (state === ${EXIT}) break;
  if (state !== ${WORK}) {
    Atomics.store(control, ${HELPER_SLEEPS}, 1);
    state = Atomics.load(control, 0);
    if (state !== ${WORK} && state !== ${EXIT}) Atomics.wait(control, 0, state);
    Atomics.store(control, ${HELPER_SLEEPS}, 0);
    continue;
  }
  // Claim the work; the fit thread takes it back when it got to it first (see finish).
  if (Atomics.compareExchange(control, 0, ${WORK}, ${RUNNING}) !== ${WORK}) continue;
  let outcome = ${DONE};
  try {
    if (control[5] === ${PARTITION}) {
      control[7] = partitionRange(rows, rowScratch, columns[control[6]], goLeft, control[1], control[2]);
    } else if (control[5] === ${ASSIGN_LEAVES}) {
      assignLeafRange(rows, leafOf, columns[control[6]], goLeft, control[8], control[1], control[2]);
    } else if (control[5] === ${LOG_LOSS}) {
      lossResult[0] = logLossRange(labels, score, grad, hess, control[1], control[2]);
    } else if (control[5] === ${PACK}) {
      packRange(grad, hess, control[9], control[4] === 1, lossResult[1], lossResult[2], lossResult[3], control[6],
        packed, control[1], control[2]);
    } else if (control[5] === ${LEAF_SUMS}) {
      leafGrad.fill(0, 0, control[10]);
      leafHess.fill(0, 0, control[10]);
      sumLeafRange(leafGrad, leafHess, leafOf, grad, hess, control[9], control[1], control[2]);
    } else if (fullRow !== null && control[3] === featureCount) {
      fullRow(scratch, rowBins, control[4] === 1 ? rows : null, control[1], control[2], packed);
    } else {
      accumulatePacked(scratch, rowBins, featureCount, features, control[3], control[4] === 1 ? rows : null,
        control[1], control[2], packed);
    }
  } catch {
    outcome = ${FAILED};
  }
  Atomics.store(control, 0, outcome);
  if (Atomics.load(control, ${FIT_SLEEPS}) === 1) Atomics.notify(control, 0);
}
`;

export class HistogramHelper {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  /** The helper's partial histogram (packed sums, BIN_SLOTS per feature). */
  readonly scratch: Float64Array;
  /** The helper's leaf sums (see startLeafSums). */
  readonly leafGrad: Float64Array;
  readonly leafHess: Float64Array;
  /** The helper's part of a log-loss pass (see startLogLoss), then a packing's three scales (see startPack). */
  private readonly loss = new Float64Array(new SharedArrayBuffer(4 * 8));
  private readonly features: Int32Array;
  private readonly worker: Worker;
  /** Hand-overs taken back in a row, and hand-overs still to skip (see MISSES_BEFORE_BACKOFF). */
  private misses = 0;
  private skips = 0;
  /** Rows of the work last posted. */
  private postedRows = 0;

  /** Every array must live in a SharedArrayBuffer: the helper reads (and writes) them in place. */
  constructor(shared: HelperArrays) {
    const { featureCount } = shared;
    this.scratch = new Float64Array(new SharedArrayBuffer(featureCount * BIN_SLOTS * 8));
    this.features = new Int32Array(new SharedArrayBuffer(featureCount * 4));
    this.leafGrad = new Float64Array(new SharedArrayBuffer(shared.maxLeaves * 8));
    this.leafHess = new Float64Array(new SharedArrayBuffer(shared.maxLeaves * 8));
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        control: this.control,
        scratch: this.scratch,
        rowBins: shared.rowBins,
        featureCount,
        features: this.features,
        rows: shared.rows,
        packed: shared.packed,
        columns: shared.columns,
        rowScratch: shared.scratch,
        goLeft: shared.goLeft,
        leafOf: shared.leafOf,
        grad: shared.grad,
        hess: shared.hess,
        leafGrad: this.leafGrad,
        leafHess: this.leafHess,
        score: shared.score,
        labels: shared.labels,
        lossResult: this.loss,
      },
    });
    this.worker.unref();
  }

  /** Whether to hand work over now (false while backing off); the caller then does all of it itself. */
  ready(): boolean {
    if (this.skips === 0) return true;
    this.skips--;
    return false;
  }

  /** Starts the helper's histogram of rows[start, end) (or start..end-1 when `useRows` is false). */
  start(features: Int32Array, useRows: boolean, start: number, end: number): void {
    this.features.set(features);
    const c = this.control;
    c[1] = start;
    c[2] = end;
    c[3] = features.length;
    c[4] = useRows ? 1 : 0;
    c[5] = HISTOGRAM;
    this.go();
  }

  /** Starts partitionRange over rows[start, end) by the `goLeft` table on `feature`'s bins. */
  startPartition(feature: number, start: number, end: number): void {
    const c = this.control;
    c[1] = start;
    c[2] = end;
    c[5] = PARTITION;
    c[6] = feature;
    this.go();
  }

  /** Starts assignLeafRange over rows[start, end) by the `goLeft` table on `feature`'s bins. */
  startAssignLeaves(feature: number, firstLeaf: number, start: number, end: number): void {
    const c = this.control;
    c[1] = start;
    c[2] = end;
    c[5] = ASSIGN_LEAVES;
    c[6] = feature;
    c[8] = firstLeaf;
    this.go();
  }

  /** Starts sumLeafRange of rows start..end-1 (gradients from `offset` on) into `leafGrad`/`leafHess`. */
  startLeafSums(leafCount: number, offset: number, start: number, end: number): void {
    const c = this.control;
    c[1] = start;
    c[2] = end;
    c[5] = LEAF_SUMS;
    c[9] = offset;
    c[10] = leafCount;
    this.go();
  }

  /** Starts logLossRange over rows start..end-1 (output 0 of `score`, `grad`, `hess`); see `lossResult`. */
  startLogLoss(start: number, end: number): void {
    const c = this.control;
    c[1] = start;
    c[2] = end;
    c[5] = LOG_LOSS;
    this.go();
  }

  /** Starts packRange of rows start..end-1 (gradients from `offset` on) with `packing`'s scales into `packed`. */
  startPack(offset: number, unitHessian: boolean, packing: GradientPacking, seed: number, start: number, end: number) {
    const c = this.control;
    c[1] = start;
    c[2] = end;
    c[4] = unitHessian ? 1 : 0;
    c[5] = PACK;
    c[6] = seed | 0;
    c[9] = offset;
    this.loss[1] = packing.gradientScale;
    this.loss[2] = packing.hessianScale;
    this.loss[3] = packing.hessianUnit;
    this.go();
  }

  /** The loss sum of the last log-loss part the helper did (read after `finish` returned true). */
  lossResult(): number {
    return this.loss[0]!;
  }

  private go(): void {
    this.postedRows = this.control[2]! - this.control[1]!;
    // The state is stored before the flag is read and the helper sets its flag before it checks the state
    // (sequentially consistent atomics): one of the two sees the other, so the work is never missed.
    Atomics.store(this.control, 0, WORK);
    if (Atomics.load(this.control, HELPER_SLEEPS) === 1) Atomics.notify(this.control, 0);
  }

  /** Like `finish`, for a partition: how many of the helper's rows went left, or null if it did not run. */
  finishPartition(): number | null {
    return this.finish() ? this.control[7]! : null;
  }

  /**
   * Called when the fit thread has done its own part. If the helper has not started the posted work yet (it was
   * asleep, or descheduled on a busy machine), takes it back and returns false: the caller then does that part
   * itself, with the same kernel into the same arrays, so the result is the same either way. Otherwise blocks until
   * the helper is done and returns true.
   */
  finish(): boolean {
    const c = this.control;
    if (Atomics.compareExchange(c, 0, WORK, IDLE) === WORK) {
      if (this.postedRows >= BACKOFF_MIN_ROWS && ++this.misses >= MISSES_BEFORE_BACKOFF) {
        this.misses = 0;
        this.skips = BACKOFF;
      }
      return false;
    }
    if (this.postedRows >= BACKOFF_MIN_ROWS) this.misses = 0;
    let state = Atomics.load(c, 0);
    for (let spin = 0; spin < SPINS && state === RUNNING; spin++) state = Atomics.load(c, 0);
    while (state === RUNNING) {
      Atomics.store(c, FIT_SLEEPS, 1);
      if (Atomics.load(c, 0) === RUNNING) Atomics.wait(c, 0, RUNNING);
      Atomics.store(c, FIT_SLEEPS, 0);
      state = Atomics.load(c, 0);
    }
    Atomics.store(c, 0, IDLE);
    if (state === FAILED) throw new Error('gbdt: the histogram helper thread failed');
    return true;
  }

  async close(): Promise<void> {
    Atomics.store(this.control, 0, EXIT);
    Atomics.notify(this.control, 0);
    await this.worker.terminate();
  }
}
