/**
 * A second thread for histogram building: the fit thread hands it the upper half of a large node's rows and sums
 * its partial histogram with its own. The machine has 2 cores and XGBoost's reference time uses both; the job's
 * worker thread is the first. Shared memory only (SharedArrayBuffer + Atomics), no messages, so handing over a
 * node costs microseconds. The helper's code is the same `accumulatePacked` function (and the same generator of the
 * all-features kernel), passed as source text, so it works from src (vitest), dist and bundles alike. Partial sums
 * are integers (packed gradients), so the result is bit-identical to a single-threaded build.
 */
import { Worker } from 'node:worker_threads';
import { BIN_SLOTS } from './binning.js';
import { accumulatePacked, FULL_ROW_KERNEL_MAX_FEATURES, fullRowKernelSource } from './histogram.js';
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
  /** The most leaves a tree can have (the size of the helper's leaf sums). */
  maxLeaves: number;
}

const IDLE = 0;
const WORK = 1;
const DONE = 2;
const EXIT = 3;
/** The helper's kernel threw: the fit thread must not wait for a result that will never come. */
const FAILED = 4;

/**
 * Control words: state, start, end, used feature count, whether `rows` applies (1) or rows are start..end-1 (0),
 * task (below), the split's feature, the partition's left count (result), the first leaf (leaf assignment), the
 * gradients' offset and the leaf count (leaf sums).
 */
const CONTROL_WORDS = 11;
const HISTOGRAM = 0;
const PARTITION = 1;
const ASSIGN_LEAVES = 2;
const LEAF_SUMS = 3;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const accumulatePacked = ${accumulatePacked.toString()};
const partitionRange = ${partitionRange.toString()};
const fullRowKernelSource = ${fullRowKernelSource.toString()};
const assignLeafRange = ${assignLeafRange.toString()};
const sumLeafRange = ${sumLeafRange.toString()};
const { control, scratch, rowBins, featureCount, features, rows, packed, columns, rowScratch, goLeft, leafOf, grad, hess,
  leafGrad, leafHess } = workerData;
const fullRow = featureCount <= ${FULL_ROW_KERNEL_MAX_FEATURES} ? new Function('return ' + fullRowKernelSource(featureCount))() : null;
for (;;) {
  const state = Atomics.load(control, 0);
  if (state === ${EXIT}) break;
  if (state !== ${WORK}) { Atomics.wait(control, 0, state); continue; }
  let outcome = ${DONE};
  try {
    if (control[5] === ${PARTITION}) {
      control[7] = partitionRange(rows, rowScratch, columns[control[6]], goLeft, control[1], control[2]);
    } else if (control[5] === ${ASSIGN_LEAVES}) {
      assignLeafRange(rows, leafOf, columns[control[6]], goLeft, control[8], control[1], control[2]);
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
  Atomics.notify(control, 0);
}
`;

export class HistogramHelper {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  /** The helper's partial histogram (packed sums, BIN_SLOTS per feature). */
  readonly scratch: Float64Array;
  /** The helper's leaf sums (see startLeafSums). */
  readonly leafGrad: Float64Array;
  readonly leafHess: Float64Array;
  private readonly features: Int32Array;
  private readonly worker: Worker;

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
      },
    });
    this.worker.unref();
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
    Atomics.store(c, 0, WORK);
    Atomics.notify(c, 0);
  }

  /** Starts partitionRange over rows[start, end) by the `goLeft` table on `feature`'s bins. */
  startPartition(feature: number, start: number, end: number): void {
    const c = this.control;
    c[1] = start;
    c[2] = end;
    c[5] = PARTITION;
    c[6] = feature;
    Atomics.store(c, 0, WORK);
    Atomics.notify(c, 0);
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

  private go(): void {
    Atomics.store(this.control, 0, WORK);
    Atomics.notify(this.control, 0);
  }

  /** Blocks until the helper's partition is done; returns how many of its rows went left. */
  finishPartition(): number {
    this.finish();
    return this.control[7]!;
  }

  /** Blocks until the helper's part is in `scratch`. */
  finish(): void {
    const c = this.control;
    let state = Atomics.load(c, 0);
    for (; state === WORK; state = Atomics.load(c, 0)) Atomics.wait(c, 0, WORK);
    Atomics.store(c, 0, IDLE);
    if (state === FAILED) throw new Error('gbdt: the histogram helper thread failed');
  }

  async close(): Promise<void> {
    Atomics.store(this.control, 0, EXIT);
    Atomics.notify(this.control, 0);
    await this.worker.terminate();
  }
}
