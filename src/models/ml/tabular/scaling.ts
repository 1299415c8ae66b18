import { fitScaler as fitColumn, type ScalingKind } from '../scaling.js';
import type { Matrix } from '../types.js';

export type { ScalingKind };

/**
 * Per-column scaling of a tabular design matrix with the shared scaler (ml/scaling.ts), fitted on the training
 * rows only. Categorical code columns are left as they are (center 0, scale 1).
 */
export interface ColumnScaler {
  kind: ScalingKind;
  /** Per column: x' = (x − center) / scale. */
  center: number[];
  scale: number[];
}

export function fitScaler(x: Matrix, trainRows: number, kind: ScalingKind, skip: boolean[]): ColumnScaler {
  const states = x.columns.map((col, c) =>
    skip[c] ? { center: 0, scale: 1 } : fitColumn(kind, col.subarray(0, trainRows)),
  );
  return { kind, center: states.map((s) => s.center), scale: states.map((s) => s.scale) };
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
