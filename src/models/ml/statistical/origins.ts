/**
 * Forecasting from many origins with a model that must be refitted to see new data (ETS and MSTL in augurs expose
 * no state update), at a bounded cost. A backtest asks for every origin of the test part, thousands on hourly data,
 * and refitting AutoETS or MSTL at each would take minutes. So:
 * - each refit sees only the last `window` steps before its origin (a capped recent window, never later data);
 * - at most `maxRefits` origins per call are refitted, evenly spaced over the sorted distinct origins; every other
 *   origin t uses the latest refit origin r ≤ t, forecasting t − r + horizon steps from r and keeping the last
 *   `horizon`, shifted by the one-step error at t − 1 (y[t−1] minus r's forecast of it). That shift is the level
 *   update of exponential smoothing with α = 1: the forecast follows the newest observation between refits.
 * With maxRefits ≥ the number of origins every forecast is an exact refit.
 */

export interface RefitSchedule {
  /** Steps of history each refit sees (the most recent ones before its origin). */
  window: number;
  /** Refits per call at most. */
  maxRefits: number;
}

/** Fits on `history` (no missing values) and forecasts `steps` steps after it. */
export type FitAndForecast = (history: Float64Array, steps: number) => ArrayLike<number>;

export function forecastOrigins(
  series: Float64Array,
  origins: ArrayLike<number>,
  horizon: number,
  schedule: RefitSchedule,
  fitAndForecast: FitAndForecast,
  onFailure: 'throw' | 'repeat-last',
): Float64Array {
  const distinct = [...new Set(Array.from(origins))].sort((a, b) => a - b);
  const refitAt = chooseRefits(distinct, schedule.maxRefits);
  const byOrigin = new Map<number, Float64Array>();
  let next = 0;
  for (let k = 0; k < refitAt.length; k++) {
    const r = refitAt[k] ?? 0;
    const until = refitAt[k + 1] ?? Infinity;
    const served: number[] = [];
    while (next < distinct.length && (distinct[next] ?? 0) < until) served.push(distinct[next++] ?? 0);
    const reach = (served[served.length - 1] ?? r) - r + horizon;
    const history = recentHistory(series, r, schedule.window);
    let path: ArrayLike<number>;
    try {
      if (history.length === 0) throw new Error('no history before the origin');
      path = fitAndForecast(history, reach);
    } catch (error) {
      if (onFailure === 'throw') throw error;
      path = new Float64Array(reach).fill(history[history.length - 1] ?? 0);
    }
    for (const t of served) {
      const observed = series[t - 1] ?? NaN;
      const shift = t > r && Number.isFinite(observed) ? observed - (path[t - 1 - r] ?? 0) : 0;
      const values = new Float64Array(horizon);
      for (let h = 0; h < horizon; h++) values[h] = (path[t - r + h] ?? NaN) + shift;
      byOrigin.set(t, values);
    }
  }
  const out = new Float64Array(origins.length * horizon);
  for (let k = 0; k < origins.length; k++)
    out.set(byOrigin.get(origins[k] ?? 0) ?? new Float64Array(horizon).fill(NaN), k * horizon);
  return out;
}

function chooseRefits(sorted: number[], maxRefits: number): number[] {
  if (sorted.length <= maxRefits) return sorted;
  const picked: number[] = [];
  for (let k = 0; k < maxRefits; k++) picked.push(sorted[Math.floor((k * sorted.length) / maxRefits)] ?? 0);
  return [...new Set(picked)];
}

/** series[max(0, origin − window), origin) with missing values carried forward (and the leading ones dropped). */
export function recentHistory(series: Float64Array, origin: number, window: number): Float64Array {
  const start = Math.max(0, origin - window);
  const values: number[] = [];
  let carry = NaN;
  for (let i = start; i < Math.min(origin, series.length); i++) {
    const v = series[i] ?? NaN;
    if (Number.isFinite(v)) carry = v;
    if (Number.isFinite(carry)) values.push(carry);
  }
  return Float64Array.from(values);
}
