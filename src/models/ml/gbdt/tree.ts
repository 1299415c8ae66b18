/**
 * One regression tree on gradients, grown depth-wise over binned features (the `hist` algorithm). Rows of a node
 * are a contiguous range of one partition array, kept in ascending row order by a stable partition, so histogram
 * building reads the bin columns forward. Only the smaller child's histogram is built; the larger one is the
 * parent's minus it, computed in the parent's buffer. Children at the maximum depth get no histogram and no
 * partition either: their rows only record their leaf (`leafOf`), and one sequential pass in row order then sums
 * every leaf's exact gradients.
 */
import { BIN_SLOTS, MISSING_BIN } from './binning.js';
import { HistogramHelper } from './helper-thread.js';
import { logLossRange } from './objective.js';
import { assignLeafRange, partitionRange, sumLeafRange } from './partition.js';
import {
  accumulatePacked,
  buildHistogram,
  compileFullRowKernel,
  unpackHistogram,
  findBestSplit,
  gradientPacking,
  HIST_STRIDE,
  packRange,
  subtractHistogram,
  toRowMajor,
  type FeatureLayout,
  type FullRowKernel,
  type GradientPacking,
  type Split,
} from './histogram.js';

/** A tree as flat arrays indexed by node (root 0); leaves have feature −1 and children −1. */
export interface GbdtTree {
  feature: number[];
  /** Numeric split: values <= threshold go left. 0 for leaves and categorical splits. */
  threshold: number[];
  /** The same threshold as a bin code (training side); −1 for leaves and categorical splits. */
  bin: number[];
  /** Categorical split: the category codes (bins) that go left, ascending; null otherwise. */
  categories: (number[] | null)[];
  left: number[];
  right: number[];
  /** Leaf value, learning rate applied; 0 for inner nodes. */
  value: number[];
  /** Where missing values go. */
  defaultLeft: boolean[];
  /** Loss reduction of the split; 0 for leaves. */
  gain: number[];
}

export interface GrowthRules {
  maxDepth: number;
  minChildWeight: number;
  lambda: number;
  learningRate: number;
}

/** A grown tree and its leaves' values; a sampled row r ended in leaf `grower.leafOf[r]`. */
export interface GrownTree {
  tree: GbdtTree;
  /** Leaf values (learning rate applied) by leaf index; only the first `leafCount` are this tree's. */
  leafValues: Float64Array;
  leafCount: number;
}

export interface GrowerOptions {
  rowCount: number;
  /** Trees per round (the gradients kept: rowCount × outputs). */
  outputs: number;
  /** The deepest a tree may grow (it bounds the leaves). */
  maxDepth: number;
  helperThread: boolean;
}

/** Nodes smaller than this are not worth handing half to the helper thread (the hand-over costs ~10 µs). */
const HELPER_MIN_ROWS = 16_384;

interface NodeWork {
  id: number;
  start: number;
  end: number;
  hist: Float64Array | null;
  /** Gradient sums from the histogram (approximate when gradients are quantized). */
  grad: number;
  hess: number;
}

export class TreeGrower {
  /** The partition array: a node's rows are a range of it. */
  readonly rows: Uint32Array;
  /**
   * After `grow`: the leaf index of every sampled row, by row (unsampled rows keep stale values). Indexed by row so
   * the fit adds leaf values to the scores in one sequential pass instead of gathering through the partition.
   */
  readonly leafOf: Uint32Array;
  private leafGrad: Float64Array;
  private leafHess: Float64Array;
  private leafValues: Float64Array;
  private readonly scratch: Uint32Array;
  /** Which bins go left at the split being applied (shared with the helper thread). */
  private readonly goLeft: Uint8Array;
  private readonly rowBins: Uint8Array;
  private readonly packedScratch: Float64Array;
  /** accumulatePacked for trees that use every feature, unrolled (null with very many features). */
  private readonly fullRowKernel: FullRowKernel | null;
  private readonly pool: Float64Array[] = [];
  private readonly categoryOrder = new Float64Array(256);
  private readonly categoryIndex = new Int32Array(256);

  /** Where the fit packs each tree's quantized gradients (see packGradients). */
  readonly packed: Float64Array;
  /**
   * Where the fit keeps every output's gradients and hessians (output k at k * rowCount); `grow` is given slices of
   * them, which the helper thread can read.
   */
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  /** Where the fit keeps the raw scores (class-major like grad) and the labels, for `logLossAndGradients`. */
  readonly score: Float64Array;
  readonly labels: Float64Array;
  private readonly helper: HistogramHelper | null;
  /** The upper half's leaf sums when no helper thread takes them (see leafSums). */
  private upperGrad: Float64Array;
  private upperHess: Float64Array;

  /**
   * `helperThread`: build the histograms of large nodes (and partition them, and sum their leaves) on two threads
   * (bit-identical results; see helper-thread.ts). Call `close()` when done with a grower that has one.
   */
  constructor(
    private readonly bins: readonly Uint8Array[],
    private readonly layout: readonly FeatureLayout[],
    private readonly edges: readonly (readonly number[])[],
    { rowCount, outputs, maxDepth, helperThread }: GrowerOptions,
  ) {
    const shared = (bytes: number) => (helperThread ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.rows = new Uint32Array(shared(rowCount * 4));
    this.leafOf = new Uint32Array(shared(rowCount * 4));
    this.packed = new Float64Array(shared(rowCount * 8));
    this.grad = new Float64Array(shared(rowCount * outputs * 8));
    this.hess = new Float64Array(shared(rowCount * outputs * 8));
    this.score = new Float64Array(shared(rowCount * outputs * 8));
    this.labels = new Float64Array(shared(rowCount * 8));
    // A tree has at most 2^maxDepth leaves and, as long as no leaf is empty, at most a leaf per row; leafSums
    // grows its arrays (and sums without the helper) should that ever be exceeded.
    const maxLeaves = Math.max(1, Math.min(rowCount, 2 ** maxDepth));
    this.leafGrad = new Float64Array(maxLeaves);
    this.leafHess = new Float64Array(maxLeaves);
    this.leafValues = new Float64Array(maxLeaves);
    this.scratch = new Uint32Array(shared(rowCount * 4));
    this.goLeft = new Uint8Array(shared(256));
    this.rowBins = toRowMajor(bins, rowCount, helperThread);
    this.packedScratch = new Float64Array(layout.length * BIN_SLOTS);
    this.fullRowKernel = compileFullRowKernel(bins.length);
    this.helper = helperThread
      ? new HistogramHelper({
          rowBins: this.rowBins,
          featureCount: bins.length,
          rows: this.rows,
          packed: this.packed,
          columns: bins,
          scratch: this.scratch,
          goLeft: this.goLeft,
          leafOf: this.leafOf,
          grad: this.grad,
          hess: this.hess,
          score: this.score,
          labels: this.labels,
          maxLeaves,
        })
      : null;
    this.upperGrad = this.helper?.leafGrad ?? new Float64Array(maxLeaves);
    this.upperHess = this.helper?.leafHess ?? new Float64Array(maxLeaves);
  }

  async close(): Promise<void> {
    await this.helper?.close();
  }

  /**
   * Grows a tree on grad/hess over `sample` (ascending row indices) or over all rows when null, splitting only on
   * `features`. Histograms come from `packing` (quantized gradients of the same rows) when given; leaf values
   * always from the exact gradients. Returns the tree and its leaf values; `leafOf` says which leaf each row is in.
   */
  grow(
    grad: Float64Array,
    hess: Float64Array,
    sample: Uint32Array | null,
    features: Int32Array,
    rules: GrowthRules,
    packing: GradientPacking | null,
  ): GrownTree {
    const rows = this.rows;
    let n: number;
    if (sample === null) {
      n = rows.length;
      for (let i = 0; i < n; i++) rows[i] = i;
    } else {
      n = sample.length;
      rows.set(sample);
    }
    const tree: GbdtTree = {
      feature: [],
      threshold: [],
      bin: [],
      categories: [],
      left: [],
      right: [],
      value: [],
      defaultLeft: [],
      gain: [],
    };
    /** Node id of each leaf, by leaf index (the order leaves are found in). */
    const leafNodes: number[] = [];
    const leafOf = this.leafOf;
    const rootHist = this.takeHistogram();
    const rowBins = this.rowBins;
    const featureCount = this.bins.length;
    const build = (hist: Float64Array, nodeRows: Uint32Array | null, start: number, end: number): void => {
      if (packing === null) buildHistogram(hist, rowBins, featureCount, features, nodeRows, start, end, grad, hess);
      else {
        const scratch = this.packedScratch;
        const used = features.length;
        const kernel = used === featureCount ? this.fullRowKernel : null;
        const accumulate = (into: Float64Array, from: number, to: number) => {
          if (kernel !== null) kernel(into, rowBins, nodeRows, from, to, packing.packed);
          else accumulatePacked(into, rowBins, featureCount, features, used, nodeRows, from, to, packing.packed);
        };
        const helper = this.helperFor(end - start);
        if (helper !== null) {
          const mid = (start + end) >>> 1;
          helper.start(features, nodeRows !== null, mid, end);
          accumulate(scratch, start, mid);
          if (!helper.finish()) accumulate(helper.scratch, mid, end);
          unpackHistogram(hist, scratch, helper.scratch, features, packing);
        } else {
          accumulate(scratch, start, end);
          unpackHistogram(hist, scratch, null, features, packing);
        }
      }
    };
    build(rootHist, sample === null ? null : rows, 0, n);
    let rootGrad = 0;
    let rootHess = 0;
    const base = features[0]! * HIST_STRIDE;
    for (let s = base; s < base + HIST_STRIDE; s += 2) {
      rootGrad += rootHist[s]!;
      rootHess += rootHist[s + 1]!;
    }
    addNode(tree);
    let level: NodeWork[] = [{ id: 0, start: 0, end: n, hist: rootHist, grad: rootGrad, hess: rootHess }];
    const splitRules = { lambda: rules.lambda, minChildWeight: rules.minChildWeight };
    for (let depth = 0; level.length > 0; depth++) {
      const next: NodeWork[] = [];
      for (const node of level) {
        const split =
          node.hist !== null && depth < rules.maxDepth && node.hess >= 2 * rules.minChildWeight
            ? findBestSplit(
                node.hist,
                features,
                this.layout,
                node.grad,
                node.hess,
                splitRules,
                this.categoryOrder,
                this.categoryIndex,
              )
            : null;
        if (split === null) {
          const leaf = leafNodes.push(node.id) - 1;
          for (let i = node.start; i < node.end; i++) leafOf[rows[i]!] = leaf;
          if (node.hist !== null) this.pool.push(node.hist);
          continue;
        }
        const leftId = addNode(tree);
        const rightId = addNode(tree);
        this.recordSplit(tree, node.id, split, leftId, rightId);
        if (depth + 1 >= rules.maxDepth) {
          // Children at the maximum depth are leaves: no partition, their rows only learn their leaf.
          this.assignLeaves(node.start, node.end, split, leafNodes.push(leftId, rightId) - 2);
          this.pool.push(node.hist!);
          continue;
        }
        const mid = this.partition(node.start, node.end, split);
        const left: NodeWork = {
          id: leftId,
          start: node.start,
          end: mid,
          hist: null,
          grad: split.leftGrad,
          hess: split.leftHess,
        };
        const right: NodeWork = {
          id: rightId,
          start: mid,
          end: node.end,
          hist: null,
          grad: node.grad - split.leftGrad,
          hess: node.hess - split.leftHess,
        };
        const parentHist = node.hist!;
        const [small, large] = mid - node.start <= node.end - mid ? [left, right] : [right, left];
        small.hist = this.takeHistogram();
        build(small.hist, rows, small.start, small.end);
        subtractHistogram(parentHist, parentHist, small.hist, features);
        large.hist = parentHist;
        next.push(left, right);
      }
      level = next;
    }
    const leafCount = leafNodes.length;
    const leafValues = this.leafSums(grad, hess, sample, n, leafCount, rules);
    for (let leaf = 0; leaf < leafCount; leaf++) tree.value[leafNodes[leaf]!] = leafValues[leaf]!;
    return { tree, leafValues, leafCount };
  }

  /**
   * packGradients of one output's gradients (a slice of `grad`/`hess`) into `packed`. From HELPER_MIN_ROWS rows on,
   * the two halves of the rows are packed apart, each with its own noise stream (the upper one's seed derived from
   * `seed`), with or without the helper thread (which takes the upper half), so the result does not depend on it.
   */
  packGradients(
    grad: Float64Array,
    hess: Float64Array,
    unitHessian: boolean,
    bits: { gradientBits: number; hessianBits: number },
    seed: number,
  ): GradientPacking {
    const packing = gradientPacking(grad, hess, unitHessian, bits, this.packed);
    const { gradientScale, hessianScale, hessianUnit, packed } = packing;
    const n = grad.length;
    const pack = (from: number, to: number, streamSeed: number) =>
      packRange(grad, hess, 0, unitHessian, gradientScale, hessianScale, hessianUnit, streamSeed, packed, from, to);
    if (n < HELPER_MIN_ROWS) {
      pack(0, n, seed);
      return packing;
    }
    const mid = n >>> 1;
    // Any fixed mixing will do: the halves only need streams of their own.
    const upperSeed = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) >>> 0;
    const readable = grad.buffer === this.grad.buffer && hess.buffer === this.hess.buffer;
    const helper = readable ? this.helperFor(n) : null;
    helper?.startPack(grad.byteOffset >>> 3, unitHessian, packing, upperSeed, mid, n);
    pack(0, mid, seed);
    if (!helper?.finish()) pack(mid, n, upperSeed);
    return packing;
  }

  /**
   * Binary log loss of `score` against `labels` (summed, not averaged) and, in the same pass, the next round's
   * gradients and hessians in `grad`/`hess`: lossAndGradients('log-loss'), whose pass was a fifth of a 200k-row
   * fit. From HELPER_MIN_ROWS rows on, the two halves of the rows are done apart and their losses added, with or
   * without the helper thread (which takes the upper half), so the result does not depend on it.
   */
  logLossAndGradients(): number {
    const { labels, score, grad, hess } = this;
    const n = labels.length;
    if (n < HELPER_MIN_ROWS) return logLossRange(labels, score, grad, hess, 0, n);
    const mid = n >>> 1;
    const helper = this.helperFor(n);
    helper?.startLogLoss(mid, n);
    const lower = logLossRange(labels, score, grad, hess, 0, mid);
    const upper = helper?.finish() ? helper.lossResult() : logLossRange(labels, score, grad, hess, mid, n);
    return lower + upper;
  }

  /**
   * Leaf values from the exact gradient sums, taken in one pass in row order over the sampled rows: sequential
   * reads, where summing each leaf through the partition would gather rows scattered over the whole arrays. Without
   * a sample and from HELPER_MIN_ROWS rows on, the two halves of the rows are summed apart and then added, with or
   * without the helper thread (which takes the upper half when it can read the gradients), so the sums do not
   * depend on it.
   */
  private leafSums(
    grad: Float64Array,
    hess: Float64Array,
    sample: Uint32Array | null,
    n: number,
    leafCount: number,
    rules: GrowthRules,
  ): Float64Array {
    let helper = grad.buffer === this.grad.buffer && hess.buffer === this.hess.buffer ? this.helperFor(n) : null;
    if (leafCount > this.leafGrad.length) {
      for (const name of ['leafGrad', 'leafHess', 'leafValues', 'upperGrad', 'upperHess'] as const) {
        this[name] = new Float64Array(leafCount);
      }
    }
    if (this.upperGrad !== this.helper?.leafGrad) helper = null;
    const { leafGrad, leafHess, leafValues, leafOf } = this;
    leafGrad.fill(0, 0, leafCount);
    leafHess.fill(0, 0, leafCount);
    if (sample !== null) {
      for (let i = 0; i < n; i++) {
        const row = sample[i]!;
        const leaf = leafOf[row]!;
        leafGrad[leaf] = leafGrad[leaf]! + grad[row]!;
        leafHess[leaf] = leafHess[leaf]! + hess[row]!;
      }
    } else if (n < HELPER_MIN_ROWS) {
      sumLeafRange(leafGrad, leafHess, leafOf, grad, hess, 0, 0, n);
    } else {
      const mid = n >>> 1;
      const { upperGrad, upperHess } = this;
      helper?.startLeafSums(leafCount, grad.byteOffset >>> 3, mid, n);
      sumLeafRange(leafGrad, leafHess, leafOf, grad, hess, 0, 0, mid);
      if (helper === null || !helper.finish()) {
        upperGrad.fill(0, 0, leafCount);
        upperHess.fill(0, 0, leafCount);
        sumLeafRange(upperGrad, upperHess, leafOf, grad, hess, 0, mid, n);
      }
      for (let leaf = 0; leaf < leafCount; leaf++) {
        leafGrad[leaf] = leafGrad[leaf]! + upperGrad[leaf]!;
        leafHess[leaf] = leafHess[leaf]! + upperHess[leaf]!;
      }
    }
    for (let leaf = 0; leaf < leafCount; leaf++) {
      leafValues[leaf] = (-leafGrad[leaf]! / (leafHess[leaf]! + rules.lambda)) * rules.learningRate;
    }
    return leafValues;
  }

  /** Sends rows[start, end) to two leaves without moving them: leafOf[row] = firstLeaf (left) or firstLeaf + 1. */
  private assignLeaves(start: number, end: number, split: Split, firstLeaf: number): void {
    const goLeft = this.fillGoLeft(split);
    const column = this.bins[split.feature]!;
    const helper = this.helperFor(end - start);
    if (helper !== null) {
      const mid = (start + end) >>> 1;
      helper.startAssignLeaves(split.feature, firstLeaf, mid, end);
      assignLeafRange(this.rows, this.leafOf, column, goLeft, firstLeaf, start, mid);
      if (!helper.finish()) assignLeafRange(this.rows, this.leafOf, column, goLeft, firstLeaf, mid, end);
      return;
    }
    assignLeafRange(this.rows, this.leafOf, column, goLeft, firstLeaf, start, end);
  }

  /** Fills the shared `goLeft` table (by bin) for the split and returns it. */
  private fillGoLeft(split: Split): Uint8Array {
    const goLeft = this.goLeft;
    if (split.leftCategories === null) {
      for (let b = 0; b < 256; b++) goLeft[b] = b <= split.bin ? 1 : 0;
    } else {
      goLeft.fill(0);
      for (const c of split.leftCategories) goLeft[c] = 1;
    }
    goLeft[MISSING_BIN] = split.defaultLeft ? 1 : 0;
    return goLeft;
  }

  /** Stable partition of rows[start, end) by the split; returns where the right child starts. */
  private partition(start: number, end: number, split: Split): number {
    const goLeft = this.fillGoLeft(split);
    const column = this.bins[split.feature]!;
    const rows = this.rows;
    const scratch = this.scratch;
    const helper = this.helperFor(end - start);
    if (helper !== null) {
      // Each thread partitions one half; the halves' lefts, then their rights, are put together in order, which is
      // exactly the single-threaded stable partition.
      const mid = (start + end) >>> 1;
      helper.startPartition(split.feature, mid, end);
      const leftLow = partitionRange(rows, scratch, column, goLeft, start, mid);
      const leftHigh = helper.finishPartition() ?? partitionRange(rows, scratch, column, goLeft, mid, end);
      const rightLow = mid - start - leftLow;
      const rightHigh = end - mid - leftHigh;
      rows.copyWithin(start + leftLow, mid, mid + leftHigh);
      const firstRight = start + leftLow + leftHigh;
      rows.set(scratch.subarray(start, start + rightLow), firstRight);
      rows.set(scratch.subarray(mid, mid + rightHigh), firstRight + rightLow);
      return firstRight;
    }
    const left = partitionRange(rows, scratch, column, goLeft, start, end);
    rows.set(scratch.subarray(start, end - left), start + left);
    return start + left;
  }

  private recordSplit(tree: GbdtTree, id: number, split: Split, leftId: number, rightId: number): void {
    tree.feature[id] = split.feature;
    tree.left[id] = leftId;
    tree.right[id] = rightId;
    tree.defaultLeft[id] = split.defaultLeft;
    tree.gain[id] = split.gain;
    if (split.leftCategories === null) {
      const edges = this.edges[split.feature]!;
      tree.bin[id] = split.bin;
      // The last value bin as a threshold (missing right) means "every value": +Infinity is not JSON, so the
      // largest double stands in for it.
      tree.threshold[id] = split.bin < edges.length ? edges[split.bin]! : Number.MAX_VALUE;
    } else {
      tree.categories[id] = split.leftCategories;
    }
  }

  /** The helper thread, when there is one, the task of `rows` rows is worth splitting and it is not backing off. */
  private helperFor(rows: number): HistogramHelper | null {
    const helper = this.helper;
    return helper !== null && rows >= HELPER_MIN_ROWS && helper.ready() ? helper : null;
  }

  private takeHistogram(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.layout.length * HIST_STRIDE);
  }
}

function addNode(tree: GbdtTree): number {
  const id = tree.feature.length;
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.bin.push(-1);
  tree.categories.push(null);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.value.push(0);
  tree.defaultLeft.push(false);
  tree.gain.push(0);
  return id;
}

/** Adds a tree's output to `score[offset + i]` for every row of binned data (validation, out-of-sample rows). */
export function addTreeBinned(
  tree: GbdtTree,
  bins: readonly Uint8Array[],
  rowCount: number,
  score: Float64Array,
  offset: number,
): void {
  const { feature, bin, categories, left, right, value, defaultLeft } = tree;
  for (let i = 0; i < rowCount; i++) {
    let node = 0;
    let f = feature[0]!;
    while (f >= 0) {
      const b = bins[f]![i]!;
      let toLeft: boolean;
      if (b === MISSING_BIN) toLeft = defaultLeft[node]!;
      else {
        const set = categories[node];
        toLeft = set ? set.includes(b) : b <= bin[node]!;
      }
      node = toLeft ? left[node]! : right[node]!;
      f = feature[node]!;
    }
    score[offset + i] = score[offset + i]! + value[node]!;
  }
}
