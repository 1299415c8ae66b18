/**
 * Gradient/hessian histograms and the best split they allow. A histogram holds, per feature, BIN_SLOTS pairs
 * (gradient sum, hessian sum) interleaved in one Float64Array: slot (f * BIN_SLOTS + bin) * 2.
 */
import { BIN_SLOTS, MISSING_BIN } from './binning.js';

export const HIST_STRIDE = BIN_SLOTS * 2;

/**
 * Adds rows[start, end) into `hist` for the given features. Reads the row-major bin matrix (`rowBins[row *
 * featureCount + f]`): a row's bins share a cache line and its gradient pair is loaded once, which is several times
 * faster than a pass per feature over column-major bins when the node's rows are scattered. When `rows` is null
 * the node is the whole (unsampled) training set in row order.
 */
export function buildHistogram(
  hist: Float64Array,
  rowBins: Uint8Array,
  featureCount: number,
  features: Int32Array,
  rows: Uint32Array | null,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  for (let j = 0; j < features.length; j++) {
    const base = features[j]! * HIST_STRIDE;
    hist.fill(0, base, base + HIST_STRIDE);
  }
  const used = features.length;
  if (used === featureCount) {
    for (let i = start; i < end; i++) {
      const row = rows === null ? i : rows[i]!;
      const g = grad[row]!;
      const h = hess[row]!;
      const offset = row * featureCount;
      for (let f = 0, base = 0; f < featureCount; f++, base += HIST_STRIDE) {
        const slot = base + (rowBins[offset + f]! << 1);
        hist[slot] = hist[slot]! + g;
        hist[slot + 1] = hist[slot + 1]! + h;
      }
    }
    return;
  }
  for (let i = start; i < end; i++) {
    const row = rows === null ? i : rows[i]!;
    const g = grad[row]!;
    const h = hess[row]!;
    const offset = row * featureCount;
    for (let j = 0; j < used; j++) {
      const f = features[j]!;
      const slot = f * HIST_STRIDE + (rowBins[offset + f]! << 1);
      hist[slot] = hist[slot]! + g;
      hist[slot + 1] = hist[slot + 1]! + h;
    }
  }
}

/**
 * Quantized gradients packed into one double per row, so a histogram update is one read-modify-write instead of
 * two (about twice as fast here). Each row's gradient is scaled and stochastically rounded to a signed integer of
 * `gradientBits` bits (unbiased, as in LightGBM's quantized training) and its hessian to an integer of at most
 * `hessianBits` bits (exactly 1 for squared error); packed = g + h · 2^shift. Every sum over up to n rows stays an
 * integer below 2^53, so the packed sums are exact and split apart again without error. Split search uses the
 * dequantized sums; leaf values are computed from the true gradients afterwards.
 */
export interface GradientPacking {
  packed: Float64Array;
  /** 2^shift. */
  hessianUnit: number;
  gradientScale: number;
  hessianScale: number;
}

/** Bits for the quantized gradient given the row count, or 0 when packing would leave too few (then: unpacked). */
export function packingBits(rowCount: number, unitHessian: boolean): { gradientBits: number; hessianBits: number } {
  const rowBits = Math.ceil(Math.log2(rowCount + 1));
  const budget = 51 - 2 * rowBits;
  const gradientBits = unitHessian ? budget : Math.ceil(budget / 2) + 1;
  const hessianBits = unitHessian ? 0 : budget - gradientBits;
  if (gradientBits < 6 || (!unitHessian && hessianBits < 4)) return { gradientBits: 0, hessianBits: 0 };
  return { gradientBits: Math.min(gradientBits, 20), hessianBits: Math.min(hessianBits, 16) };
}

/**
 * The scales of packGradients for these gradients (a pass for the largest gradient and, unless unit, hessian);
 * the packing itself is packRange's, over one range or several.
 */
export function gradientPacking(
  grad: Float64Array,
  hess: Float64Array,
  unitHessian: boolean,
  bits: { gradientBits: number; hessianBits: number },
  packed: Float64Array,
): GradientPacking {
  const n = grad.length;
  let maxGrad = 0;
  let maxHess = 0;
  for (let i = 0; i < n; i++) maxGrad = Math.max(maxGrad, Math.abs(grad[i]!));
  if (!unitHessian) for (let i = 0; i < n; i++) maxHess = Math.max(maxHess, hess[i]!);
  const gradientScale = maxGrad > 0 ? (2 ** (bits.gradientBits - 1) - 1) / maxGrad : 1;
  const hessianScale = unitHessian || maxHess <= 0 ? 1 : (2 ** bits.hessianBits - 1) / maxHess;
  const rowBits = Math.ceil(Math.log2(n + 1));
  const hessianUnit = 2 ** (bits.gradientBits + rowBits);
  return { packed, hessianUnit, gradientScale, hessianScale };
}

/** Quantizes and packs every row's gradients in one range, with one noise stream from `seed`. */
export function packGradients(
  grad: Float64Array,
  hess: Float64Array,
  unitHessian: boolean,
  bits: { gradientBits: number; hessianBits: number },
  seed: number,
  packed: Float64Array,
): GradientPacking {
  const packing = gradientPacking(grad, hess, unitHessian, bits, packed);
  const { gradientScale, hessianScale, hessianUnit } = packing;
  packRange(grad, hess, 0, unitHessian, gradientScale, hessianScale, hessianUnit, seed, packed, 0, grad.length);
  return packing;
}

/**
 * packed[i] for rows start..end-1 from grad/hess[offset + i], the rounding noise drawn from xorshift32 seeded with
 * `seed` (inline: a generator call per row and tree was a tenth of the fit time). The unit-hessian loop is separate:
 * with the hessian's branch inside, the loop ran at less than half the speed. Self-contained on purpose: its source
 * is also the helper thread's kernel (see helper-thread.ts), so it may only use its arguments.
 */
export function packRange(
  grad: Float64Array,
  hess: Float64Array,
  offset: number,
  unitHessian: boolean,
  gradientScale: number,
  hessianScale: number,
  hessianUnit: number,
  seed: number,
  packed: Float64Array,
  start: number,
  end: number,
): void {
  let state = seed >>> 0 || 0x9e3779b9;
  const toUnit = 1 / 4294967296;
  if (unitHessian) {
    for (let i = start; i < end; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      packed[i] = Math.floor(grad[offset + i]! * gradientScale + (state >>> 0) * toUnit) + hessianUnit;
    }
    return;
  }
  for (let i = start; i < end; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const g = Math.floor(grad[offset + i]! * gradientScale + (state >>> 0) * toUnit);
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const h = Math.floor(hess[offset + i]! * hessianScale + (state >>> 0) * toUnit);
    packed[i] = g + h * hessianUnit;
  }
}

/** Like buildHistogram, over packed gradients: accumulates into `scratch` and unpacks into `hist`. */
export function buildPackedHistogram(
  hist: Float64Array,
  scratch: Float64Array,
  rowBins: Uint8Array,
  featureCount: number,
  features: Int32Array,
  rows: Uint32Array | null,
  start: number,
  end: number,
  packing: GradientPacking,
): void {
  accumulatePacked(scratch, rowBins, featureCount, features, features.length, rows, start, end, packing.packed);
  unpackHistogram(hist, scratch, null, features, packing);
}

/**
 * Zeroes the used features' slots of `scratch` (BIN_SLOTS per feature) and adds the packed gradients of
 * rows[start, end) (or rows start..end-1 themselves when `rows` is null). Self-contained on purpose: its source is
 * also the helper thread's kernel (see helper-thread.ts), so it may only use its arguments.
 */
export function accumulatePacked(
  scratch: Float64Array,
  rowBins: Uint8Array,
  featureCount: number,
  features: Int32Array,
  used: number,
  rows: Uint32Array | null,
  start: number,
  end: number,
  packed: Float64Array,
): void {
  const slots = 256;
  for (let j = 0; j < used; j++) {
    const base = features[j]! * slots;
    scratch.fill(0, base, base + slots);
  }
  if (used === featureCount && rows === null) {
    for (let i = start; i < end; i++) {
      const p = packed[i]!;
      for (let off = i * featureCount, e = off + featureCount, base = 0; off < e; off++, base += slots) {
        const slot = base + rowBins[off]!;
        scratch[slot] = scratch[slot]! + p;
      }
    }
  } else if (used === featureCount && rows !== null) {
    for (let i = start; i < end; i++) {
      const row = rows[i]!;
      const p = packed[row]!;
      for (let off = row * featureCount, e = off + featureCount, base = 0; off < e; off++, base += slots) {
        const slot = base + rowBins[off]!;
        scratch[slot] = scratch[slot]! + p;
      }
    }
  } else {
    for (let i = start; i < end; i++) {
      const row = rows === null ? i : rows[i]!;
      const p = packed[row]!;
      const offset = row * featureCount;
      for (let j = 0; j < used; j++) {
        const f = features[j]!;
        const slot = f * slots + rowBins[offset + f]!;
        scratch[slot] = scratch[slot]! + p;
      }
    }
  }
}

/** A kernel that adds the packed gradients of rows[start, end) (or rows start..end-1) over every feature. */
export type FullRowKernel = (
  scratch: Float64Array,
  rowBins: Uint8Array,
  rows: Uint32Array | null,
  start: number,
  end: number,
  packed: Float64Array,
) => void;

/** Above this many features, the loop of accumulatePacked is used instead of a generated kernel (code size). */
export const FULL_ROW_KERNEL_MAX_FEATURES = 64;

/**
 * Source text of accumulatePacked's all-features case for one feature count, with the loop over features
 * unrolled into straight-line code with constant offsets. V8 runs this about twice as fast over sequential rows
 * as the loop (no loop-carried offset, and the row's independent adds overlap); the sums are the same integers,
 * so the result does not change. Self-contained on purpose: the helper thread compiles the same source.
 */
export function fullRowKernelSource(featureCount: number): string {
  const adds: string[] = [];
  for (let f = 0; f < featureCount; f++) adds.push(`s = ${f * 256} + rowBins[o + ${f}]; scratch[s] += p;`);
  const body = adds.join('\n');
  return `(scratch, rowBins, rows, start, end, packed) => {
  scratch.fill(0, 0, ${featureCount * 256});
  let s = 0;
  if (rows === null) {
    for (let i = start, o = start * ${featureCount}; i < end; i++, o += ${featureCount}) {
      const p = packed[i];
      ${body}
    }
  } else {
    for (let i = start; i < end; i++) {
      const row = rows[i];
      const p = packed[row];
      const o = row * ${featureCount};
      ${body}
    }
  }
}`;
}

/** The generated kernel for `featureCount` features, or null when there are too many to unroll. */
export function compileFullRowKernel(featureCount: number): FullRowKernel | null {
  if (featureCount > FULL_ROW_KERNEL_MAX_FEATURES) return null;
  // The source is built from integers only (no outside input reaches it).
  return new Function(`return ${fullRowKernelSource(featureCount)};`)() as FullRowKernel;
}

/** Splits packed sums (scratch, plus `other` when a helper thread built part of them) into (gradient, hessian). */
export function unpackHistogram(
  hist: Float64Array,
  scratch: Float64Array,
  other: Float64Array | null,
  features: Int32Array,
  packing: GradientPacking,
): void {
  const { hessianUnit, gradientScale, hessianScale } = packing;
  for (let j = 0; j < features.length; j++) {
    const f = features[j]!;
    for (let b = f * BIN_SLOTS, e = b + BIN_SLOTS; b < e; b++) {
      // Integer sums below 2^53: adding the two halves is exact, so threading does not change the result.
      const p = other === null ? scratch[b]! : scratch[b]! + other[b]!;
      const h = Math.round(p / hessianUnit);
      hist[b * 2] = (p - h * hessianUnit) / gradientScale;
      hist[b * 2 + 1] = h / hessianScale;
    }
  }
}

/** The bins of all features row by row (row-major), the layout histogram building reads. */
export function toRowMajor(columns: readonly Uint8Array[], rowCount: number, shared: boolean): Uint8Array {
  const featureCount = columns.length;
  const bytes = rowCount * featureCount;
  const out = new Uint8Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  for (let f = 0; f < featureCount; f++) {
    const column = columns[f]!;
    for (let i = 0, o = f; i < rowCount; i++, o += featureCount) out[o] = column[i]!;
  }
  return out;
}

/** target = parent − sibling over the given features (the subtraction trick); target may be parent itself. */
export function subtractHistogram(
  target: Float64Array,
  parent: Float64Array,
  sibling: Float64Array,
  features: Int32Array,
): void {
  for (let j = 0; j < features.length; j++) {
    const base = features[j]! * HIST_STRIDE;
    for (let s = base; s < base + HIST_STRIDE; s++) target[s] = parent[s]! - sibling[s]!;
  }
}

export interface Split {
  feature: number;
  /** Numeric: rows with bin <= bin go left. Categorical: unused (see `leftCategories`). */
  bin: number;
  /** Categorical: the bins (category codes) that go left, ascending; null for numeric splits. */
  leftCategories: number[] | null;
  defaultLeft: boolean;
  gain: number;
  leftGrad: number;
  leftHess: number;
}

export interface SplitRules {
  lambda: number;
  minChildWeight: number;
}

/** Bins of a feature in use, needed to scan its histogram. */
export interface FeatureLayout {
  bins: number;
  categorical: boolean;
}

/**
 * The split with the largest gain over the given features, or null when none has a positive gain with both
 * children at or above the minimum hessian. Gain is XGBoost's: G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ) (halved
 * by convention in XGBoost; here not, which only scales `importance`).
 */
export function findBestSplit(
  hist: Float64Array,
  features: Int32Array,
  layout: readonly FeatureLayout[],
  totalGrad: number,
  totalHess: number,
  rules: SplitRules,
  categoryOrder: Float64Array,
  categoryIndex: Int32Array,
): Split | null {
  const { lambda, minChildWeight } = rules;
  const parentScore = (totalGrad * totalGrad) / (totalHess + lambda);
  let best: Split | null = null;
  let bestGain = 0;
  for (let j = 0; j < features.length; j++) {
    const f = features[j]!;
    const base = f * HIST_STRIDE;
    const nBins = layout[f]!.bins;
    const missGrad = hist[base + MISSING_BIN * 2]!;
    const missHess = hist[base + MISSING_BIN * 2 + 1]!;
    const hasMissing = missHess > 0;
    if (layout[f]!.categorical) {
      // Sorted-by-gradient partition (LightGBM's many-vs-many): order the categories by G/(H+λ) and try every
      // prefix as the left set; optimal for these convex losses among all two-way partitions of the categories.
      let m = 0;
      for (let b = 0; b < nBins; b++) {
        const h = hist[base + b * 2 + 1]!;
        if (h <= 0) continue;
        categoryIndex[m] = b;
        categoryOrder[m] = hist[base + b * 2]! / (h + lambda);
        m++;
      }
      if (m < 2 && !(m === 1 && hasMissing)) continue;
      const order = Array.from({ length: m }, (_, k) => k)
        .sort((a, b) => categoryOrder[a]! - categoryOrder[b]! || categoryIndex[a]! - categoryIndex[b]!)
        .map((k) => categoryIndex[k]!);
      let gl = 0;
      let hl = 0;
      for (let k = 0; k < m; k++) {
        const b = order[k]!;
        gl += hist[base + b * 2]!;
        hl += hist[base + b * 2 + 1]!;
        for (let side = 0; side < (hasMissing ? 2 : 1); side++) {
          const missingLeft = side === 1;
          if (k === m - 1 && !(hasMissing && !missingLeft)) continue;
          const lg = missingLeft ? gl + missGrad : gl;
          const lh = missingLeft ? hl + missHess : hl;
          const rh = totalHess - lh;
          if (lh < minChildWeight || rh < minChildWeight) continue;
          const rg = totalGrad - lg;
          const gain = (lg * lg) / (lh + lambda) + (rg * rg) / (rh + lambda) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            best = {
              feature: f,
              bin: -1,
              leftCategories: order.slice(0, k + 1).sort((a, b) => a - b),
              defaultLeft: missingLeft,
              gain,
              leftGrad: lg,
              leftHess: lh,
            };
          }
        }
      }
      continue;
    }
    let gl = 0;
    let hl = 0;
    // The last value bin is never a threshold (everything would go left) unless missing values go right.
    const lastThreshold = hasMissing ? nBins - 1 : nBins - 2;
    for (let b = 0; b <= lastThreshold; b++) {
      gl += hist[base + b * 2]!;
      hl += hist[base + b * 2 + 1]!;
      // Missing values right (also the only case without missing values).
      let rh = totalHess - hl;
      if (hl >= minChildWeight && rh >= minChildWeight) {
        const rg = totalGrad - gl;
        const gain = (gl * gl) / (hl + lambda) + (rg * rg) / (rh + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: b, leftCategories: null, defaultLeft: false, gain, leftGrad: gl, leftHess: hl };
        }
      }
      if (!hasMissing || b === nBins - 1) continue;
      const lg = gl + missGrad;
      const lh = hl + missHess;
      rh = totalHess - lh;
      if (lh >= minChildWeight && rh >= minChildWeight) {
        const rg = totalGrad - lg;
        const gain = (lg * lg) / (lh + lambda) + (rg * rg) / (rh + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: b, leftCategories: null, defaultLeft: true, gain, leftGrad: lg, leftHess: lh };
        }
      }
    }
  }
  return best;
}
