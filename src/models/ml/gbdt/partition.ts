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
