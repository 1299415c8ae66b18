/**
 * Largest-Triangle-Three-Buckets (Steinarsson, 2013): picks `threshold` points of a series that keep its visual
 * shape. The first and last points are always kept; the points between are split into `threshold − 2` buckets of
 * (nearly) equal size, and from each bucket the point is kept that spans the largest triangle with the point kept
 * before it and the average of the next bucket. Pure and O(n): DuckDB has reduced the series before it gets here.
 */
export function lttb<T>(points: readonly T[], threshold: number, x: (p: T) => number, y: (p: T) => number): T[] {
  if (threshold >= points.length) return [...points];
  if (threshold <= 0) return [];
  if (threshold === 1) return [points[0]!];
  if (threshold === 2) return [points[0]!, points[points.length - 1]!];

  const kept: T[] = [points[0]!];
  // The first and last points are fixed: the other threshold − 2 come from the n − 2 points between them.
  const every = (points.length - 2) / (threshold - 2);
  let previous = 0;
  for (let bucket = 0; bucket < threshold - 2; bucket++) {
    const start = Math.floor(bucket * every) + 1;
    const end = Math.floor((bucket + 1) * every) + 1;
    // The next bucket's average (for the last bucket: the last point).
    const nextStart = end;
    const nextEnd = Math.min(Math.floor((bucket + 2) * every) + 1, points.length);
    let avgX = 0;
    let avgY = 0;
    for (let i = nextStart; i < nextEnd; i++) {
      avgX += x(points[i]!);
      avgY += y(points[i]!);
    }
    const nextCount = nextEnd - nextStart;
    avgX /= nextCount;
    avgY /= nextCount;

    const ax = x(points[previous]!);
    const ay = y(points[previous]!);
    let best = start;
    let bestArea = -1;
    for (let i = start; i < end; i++) {
      // Twice the triangle's area: the constant factor does not change which point is largest.
      const area = Math.abs((ax - avgX) * (y(points[i]!) - ay) - (ax - x(points[i]!)) * (avgY - ay));
      if (area > bestArea) {
        bestArea = area;
        best = i;
      }
    }
    kept.push(points[best]!);
    previous = best;
  }
  kept.push(points[points.length - 1]!);
  return kept;
}
