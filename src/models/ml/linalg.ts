/**
 * Dense symmetric positive-definite solves for the closed-form models. Matrices are row-major Float64Arrays of n × n;
 * n stays below ~1,000 here (a lookback window plus calendar terms), so O(n³) factorisations take well under a second.
 */

/**
 * Cholesky factorisation A = L·Lᵀ in place: on return the lower triangle of `a` holds L (the upper triangle is left
 * as it was). Throws when A is not (numerically) positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let d = a[rowJ + j]!;
    for (let k = 0; k < j; k++) d -= a[rowJ + k]! * a[rowJ + k]!;
    if (!(d > 0)) throw new RangeError(`matrix is not positive definite (pivot ${j})`);
    const ljj = Math.sqrt(d);
    a[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let s = a[rowI + j]!;
      for (let k = 0; k < j; k++) s -= a[rowI + k]! * a[rowJ + k]!;
      a[rowI + j] = s / ljj;
    }
  }
}

/**
 * Solves L·Lᵀ·X = B for X given the factor from `choleskyInPlace`; B is n × m row-major (m right-hand sides) and is
 * overwritten with X.
 */
export function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array, m: number): void {
  // Forward: L·Y = B.
  for (let i = 0; i < n; i++) {
    const rowI = i * n;
    const bi = i * m;
    for (let k = 0; k < i; k++) {
      const lik = l[rowI + k]!;
      if (lik === 0) continue;
      const bk = k * m;
      for (let c = 0; c < m; c++) b[bi + c]! -= lik * b[bk + c]!;
    }
    const lii = l[rowI + i]!;
    for (let c = 0; c < m; c++) b[bi + c]! /= lii;
  }
  // Backward: Lᵀ·X = Y.
  for (let i = n - 1; i >= 0; i--) {
    const bi = i * m;
    for (let k = i + 1; k < n; k++) {
      const lki = l[k * n + i]!;
      if (lki === 0) continue;
      const bk = k * m;
      for (let c = 0; c < m; c++) b[bi + c]! -= lki * b[bk + c]!;
    }
    const lii = l[i * n + i]!;
    for (let c = 0; c < m; c++) b[bi + c]! /= lii;
  }
}

/** Solves the SPD system A·X = B (A n × n, B n × m, both row-major); neither input is modified. */
export function solveSpd(a: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const l = Float64Array.from(a);
  choleskyInPlace(l, n);
  const x = Float64Array.from(b);
  choleskySolveInPlace(l, n, x, m);
  return x;
}

/**
 * Ridge regression from accumulated moments: solves (G + λ·diag(penalty))·W = C, where G = XᵀX (d × d) and C = XᵀY
 * (d × m, one column per output). Accumulate G and C once and call this per λ: each call is one factorisation.
 * `penalty[i]` = 0 leaves a coefficient (e.g. an intercept) unpenalised; default 1 for all.
 */
export function ridgeSolve(
  gram: Float64Array,
  cross: Float64Array,
  d: number,
  m: number,
  lambda: number,
  penalty?: ArrayLike<number>,
): Float64Array {
  const a = Float64Array.from(gram);
  for (let i = 0; i < d; i++) a[i * d + i]! += lambda * (penalty ? penalty[i]! : 1);
  // A tiny relative jitter keeps a rank-deficient Gram (e.g. a constant column next to an unpenalised intercept)
  // factorisable without changing a well-posed solution measurably.
  let trace = 0;
  for (let i = 0; i < d; i++) trace += a[i * d + i]!;
  const jitter = (trace / Math.max(1, d)) * 1e-12;
  for (let i = 0; i < d; i++) a[i * d + i]! += jitter;
  choleskyInPlace(a, d);
  const w = Float64Array.from(cross);
  choleskySolveInPlace(a, d, w, m);
  return w;
}
