/**
 * The stable partition kernel: rows[start, end) whose bin goes left stay in `rows` from `start` on, in order; the
 * others go to scratch[start ...], in order. Returns how many went left. Self-contained on purpose: its source is
 * also the helper thread's kernel (see helper-thread.ts), so it may only use its arguments.
 */
export function partitionRange(
  rows: Uint32Array,
  scratch: Uint32Array,
  column: Uint8Array,
  goLeft: Uint8Array,
  start: number,
  end: number,
): number {
  let l = start;
  let r = start;
  // Branch-free: every row is written to both sides and only one cursor advances; the direction is a coin flip
  // for the branch predictor, and mispredictions cost more than the extra store.
  for (let i = start; i < end; i++) {
    const row = rows[i]!;
    const toLeft = goLeft[column[row]!]!;
    rows[l] = row;
    scratch[r] = row;
    l += toLeft;
    r += 1 - toLeft;
  }
  return l - start;
}

/**
 * Sends rows[start, end) to two leaves without moving them: leafOf[row] = firstLeaf (bin goes left) or firstLeaf
 * + 1. Self-contained on purpose (also a helper-thread kernel).
 */
export function assignLeafRange(
  rows: Uint32Array,
  leafOf: Uint32Array,
  column: Uint8Array,
  goLeft: Uint8Array,
  firstLeaf: number,
  start: number,
  end: number,
): void {
  const rightLeaf = firstLeaf + 1;
  for (let i = start; i < end; i++) {
    const row = rows[i]!;
    leafOf[row] = rightLeaf - goLeft[column[row]!]!;
  }
}

/**
 * Adds grad[offset + row] and hess[offset + row] of rows start..end-1 to their leaf's sums, in row order (sequential
 * reads). Self-contained on purpose (also a helper-thread kernel).
 */
export function sumLeafRange(
  leafGrad: Float64Array,
  leafHess: Float64Array,
  leafOf: Uint32Array,
  grad: Float64Array,
  hess: Float64Array,
  offset: number,
  start: number,
  end: number,
): void {
  for (let row = start; row < end; row++) {
    const leaf = leafOf[row]!;
    leafGrad[leaf] = leafGrad[leaf]! + grad[offset + row]!;
    leafHess[leaf] = leafHess[leaf]! + hess[offset + row]!;
  }
}
