import { describe, expect, it } from 'vitest';
import { choleskyInPlace, ridgeSolve, solveSpd } from './linalg.js';
import { Random } from './random.js';

function randomSpd(n: number, rng: Random): Float64Array {
  const x = new Float64Array(n * n);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += x[i * n + k]! * x[j * n + k]!;
      a[i * n + j] = s;
    }
  return a;
}

describe('linalg', () => {
  it('solves an SPD system to machine precision', () => {
    const rng = new Random(1);
    const n = 30;
    const a = randomSpd(n, rng);
    const xTrue = Float64Array.from({ length: n * 2 }, () => rng.normal());
    const b = new Float64Array(n * 2);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 2; c++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * xTrue[k * 2 + c]!;
        b[i * 2 + c] = s;
      }
    const x = solveSpd(a, n, b, 2);
    for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(xTrue[i]!, 9);
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => choleskyInPlace(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite/);
  });

  it('ridge with λ = 0 is least squares and shrinks towards 0 as λ grows; the intercept is left unpenalised', () => {
    // y = 3 + 2x on x = 0..9: G = XᵀX with columns [x, 1].
    const xs = Array.from({ length: 10 }, (_, i) => i);
    let sxx = 0;
    let sx = 0;
    let sxy = 0;
    let sy = 0;
    for (const x of xs) {
      sxx += x * x;
      sx += x;
      sxy += x * (3 + 2 * x);
      sy += 3 + 2 * x;
    }
    const gram = Float64Array.from([sxx, sx, sx, xs.length]);
    const cross = Float64Array.from([sxy, sy]);
    const exact = ridgeSolve(gram, cross, 2, 1, 0);
    expect(exact[0]).toBeCloseTo(2, 9);
    expect(exact[1]).toBeCloseTo(3, 9);
    const shrunk = ridgeSolve(gram, cross, 2, 1, 1e6, [1, 0]);
    expect(Math.abs(shrunk[0]!)).toBeLessThan(0.01);
    // The unpenalised intercept takes the mean of y when the slope is shrunk to ~0.
    expect(shrunk[1]).toBeCloseTo(12, 1);
  });
});
