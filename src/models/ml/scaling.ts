/**
 * Per-column scalers fitted on the training part only. The state is plain JSON, so a fitted scaler is stored in a
 * model artifact and applied again at inference. NaN (missing) passes through both directions unchanged.
 */

export type ScalingKind = 'standard' | 'minmax' | 'robust' | 'none';
export const SCALING_KINDS: readonly ScalingKind[] = ['standard', 'minmax', 'robust', 'none'];

/** x_scaled = (x − center) / scale. */
export interface ScalerState {
  kind: ScalingKind;
  center: number;
  scale: number;
}

function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Fits a scaler on `values` (NaN skipped). Standard uses the population std (ddof 0, as scikit-learn's
 * StandardScaler and the LTSF protocol); a zero spread becomes scale 1 so constant columns stay finite.
 */
export function fitScaler(kind: ScalingKind, values: ArrayLike<number>): ScalerState {
  if (kind === 'none') return { kind, center: 0, scale: 1 };
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) finite.push(values[i]!);
  if (finite.length === 0) return { kind, center: 0, scale: 1 };
  let center: number;
  let spread: number;
  if (kind === 'standard') {
    let sum = 0;
    for (const v of finite) sum += v;
    center = sum / finite.length;
    let ss = 0;
    for (const v of finite) ss += (v - center) ** 2;
    spread = Math.sqrt(ss / finite.length);
  } else if (kind === 'minmax') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of finite) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    center = lo;
    spread = hi - lo;
  } else {
    const sorted = Float64Array.from(finite).sort();
    center = quantileSorted(sorted, 0.5);
    spread = quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25);
  }
  return { kind, center, scale: spread > 0 && Number.isFinite(spread) ? spread : 1 };
}

export function transform(state: ScalerState, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! - state.center) / state.scale;
  return out;
}

export function inverseTransform(state: ScalerState, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * state.scale + state.center;
  return out;
}
