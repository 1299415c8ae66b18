/**
 * Split-conformal prediction intervals: on windows the model was not fitted on (the validation part, forecast by a
 * fit on the training part only), the |residual| quantile per horizon step and level. A new forecast's band is
 * point ± that quantile; with exchangeable residuals it covers the truth with probability ≥ level.
 */

export const DEFAULT_LEVELS = [0.8, 0.95];

export interface IntervalModel {
  levels: number[];
  /** quantiles[level index][step]: the conformal |residual| quantile (normalized scale). */
  quantiles: number[][];
}

/**
 * `absResiduals[h]` holds |actual − forecast| of step h over the calibration windows (NaN skipped). Uses the
 * finite-sample rank ⌈(n + 1)·level⌉ (the largest residual when that exceeds n).
 */
export function conformalQuantiles(
  absResiduals: ArrayLike<number>[],
  levels: number[] = DEFAULT_LEVELS,
): IntervalModel {
  const sorted = absResiduals.map((r) => Float64Array.from(Array.from(r).filter((v) => !Number.isNaN(v))).sort());
  const quantiles = levels.map((level) =>
    sorted.map((s) => {
      if (s.length === 0) return 0;
      const rank = Math.min(s.length, Math.ceil((s.length + 1) * level));
      return s[rank - 1]!;
    }),
  );
  return { levels: [...levels], quantiles };
}

/** Collects |residual| per step from row-major forecasts (origins × horizon) against their actual values. */
export function residualsByStep(
  series: ArrayLike<number>[],
  forecasts: Float64Array[],
  origins: ArrayLike<number>,
  horizon: number,
): Float64Array[] {
  const out = Array.from({ length: horizon }, () => new Float64Array(origins.length * series.length));
  for (let s = 0; s < series.length; s++)
    for (let o = 0; o < origins.length; o++)
      for (let h = 0; h < horizon; h++)
        out[h]![s * origins.length + o] = Math.abs(series[s]![origins[o]! + h]! - forecasts[s]![o * horizon + h]!);
  return out;
}

/** Bands around a point forecast (same scale as the quantiles) for the levels available. */
export function intervalBands(
  model: IntervalModel,
  point: ArrayLike<number>,
  levels: number[] = model.levels,
): { level: number; lower: number[]; upper: number[] }[] {
  return levels.map((level) => {
    const li = model.levels.indexOf(level);
    if (li < 0) throw new RangeError(`no interval at level ${level}; available: ${model.levels.join(', ')}`);
    const q = model.quantiles[li]!;
    const lower: number[] = [];
    const upper: number[] = [];
    for (let h = 0; h < point.length; h++) {
      const w = q[Math.min(h, q.length - 1)]!;
      lower.push(point[h]! - w);
      upper.push(point[h]! + w);
    }
    return { level, lower, upper };
  });
}
