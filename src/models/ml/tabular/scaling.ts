import type { Matrix } from '../types.js';

/**
 * A minimal column scaler for tabular features, kept private to tabular/ until the shared one (ml/scaling.ts)
 * lands. Fitted on the training rows only; categorical code columns are left as they are.
 */

export type ScalingKind = 'standard' | 'minmax' | 'robust' | 'none';

export interface ColumnScaler {
  kind: ScalingKind;
  /** Per column: x' = (x − center) / scale. */
  center: number[];
  scale: number[];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function fitScaler(x: Matrix, trainRows: number, kind: ScalingKind, skip: boolean[]): ColumnScaler {
  const center: number[] = [];
  const scale: number[] = [];
  x.columns.forEach((col, c) => {
    if (kind === 'none' || skip[c]) {
      center.push(0);
      scale.push(1);
      return;
    }
    const v = Array.from(col.subarray(0, trainRows)).filter((n) => !Number.isNaN(n));
    let m = 0;
    let s = 1;
    if (kind === 'standard') {
      m = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
      s = Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / Math.max(1, v.length));
    } else {
      v.sort((a, b) => a - b);
      if (kind === 'minmax') {
        m = v[0] ?? 0;
        s = (v[v.length - 1] ?? 0) - m;
      } else {
        m = quantile(v, 0.5);
        s = quantile(v, 0.75) - quantile(v, 0.25);
      }
    }
    center.push(m);
    // A constant column stays a constant (0) instead of dividing by zero.
    scale.push(s > 0 && Number.isFinite(s) ? s : 1);
  });
  return { kind, center, scale };
}

export function applyScaler(s: ColumnScaler, x: Matrix): Matrix {
  return {
    rows: x.rows,
    columns: x.columns.map((col, c) => {
      if (s.center[c] === 0 && s.scale[c] === 1) return col;
      const out = new Float64Array(col.length);
      for (let i = 0; i < col.length; i++) out[i] = (col[i]! - s.center[c]!) / s.scale[c]!;
      return out;
    }),
  };
}
