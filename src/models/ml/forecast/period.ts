/**
 * The seasonal period in steps: from the time step when it names a calendar cycle, otherwise detected from the
 * autocorrelation of the training part.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Daily cycle for sub-daily steps that divide a day; weekly for daily; yearly for weekly/monthly; else null. */
export function periodFromStep(stepMs: number | null): number | null {
  if (stepMs === null || !(stepMs > 0)) return null;
  if (stepMs < DAY && DAY % stepMs === 0) {
    const p = DAY / stepMs;
    return p >= 2 ? p : null;
  }
  if (stepMs === DAY) return 7;
  if (stepMs === 7 * DAY) return 52;
  // Calendar months are 28–31 days long; a regular step near a month is the best this index can say.
  if (stepMs >= 28 * DAY && stepMs <= 31 * DAY) return 12;
  return null;
}

/**
 * The first lag in [2, maxLag] whose autocorrelation is a local peak above `threshold` and near the highest peak; null when
 * none is (no clear season). NaN values are skipped pairwise.
 */
export function detectPeriod(values: ArrayLike<number>, maxLag?: number, threshold = 0.3): number | null {
  const n = values.length;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++)
    if (!Number.isNaN(values[i]!)) {
      sum += values[i]!;
      count++;
    }
  if (count < 8) return null;
  const mean = sum / count;
  let variance = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(values[i]!)) variance += (values[i]! - mean) ** 2;
  variance /= count;
  if (!(variance > 0)) return null;
  const top = Math.min(maxLag ?? Math.floor(n / 3), Math.floor(n / 2));
  const acf = new Float64Array(top + 2);
  for (let lag = 1; lag <= top + 1 && lag < n; lag++) {
    let s = 0;
    let c = 0;
    for (let i = lag; i < n; i++) {
      const a = values[i]!;
      const b = values[i - lag]!;
      if (Number.isNaN(a) || Number.isNaN(b)) continue;
      s += (a - mean) * (b - mean);
      c++;
    }
    acf[lag] = c > 0 ? s / c / variance : 0;
  }
  // Multiples of the period peak about as high as the period itself: keep the first peak within 10% of the highest.
  const peaks: number[] = [];
  for (let lag = 2; lag <= top; lag++) {
    const r = acf[lag]!;
    if (r >= threshold && r >= acf[lag - 1]! && r >= acf[lag + 1]!) peaks.push(lag);
  }
  if (peaks.length === 0) return null;
  let highest = -Infinity;
  for (const lag of peaks) highest = Math.max(highest, acf[lag]!);
  const best = peaks.find((lag) => acf[lag]! >= 0.9 * highest) ?? null;
  return best;
}

/** Period given by the user, else from the step, else detected on the training values. */
export function resolvePeriod(
  given: number | null | undefined,
  stepMs: number | null,
  trainValues: ArrayLike<number>,
): number | null {
  if (given !== undefined && given !== null) return given >= 2 ? Math.round(given) : null;
  return periodFromStep(stepMs) ?? detectPeriod(trainValues);
}
