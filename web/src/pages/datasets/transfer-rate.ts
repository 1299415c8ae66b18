/**
 * A transfer's rate and time left, from the bytes sent over the last few seconds: a whole-transfer average would
 * hide a link that just slowed down, a per-event rate would jump with every progress event.
 */
const WINDOW_MS = 4000;

export class TransferRate {
  private samples: { at: number; bytes: number }[] = [];

  /** Records that `bytes` in total have been sent at `at` (ms, e.g. performance.now()). */
  add(bytes: number, at: number): void {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > WINDOW_MS) this.samples.shift();
  }

  /** Forgets the samples: after a pause the time spent waiting is not a slow transfer. */
  reset(): void {
    this.samples = [];
  }

  /** Bytes per second over the window; null until there is a measurable interval. */
  bytesPerSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 200) return null;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.at - first.at));
  }

  /** Milliseconds until `total` bytes are sent at the current rate; null when unknown (or stalled). */
  etaMs(total: number): number | null {
    const rate = this.bytesPerSecond();
    const last = this.samples[this.samples.length - 1];
    if (!rate || !last) return null;
    return ((total - last.bytes) * 1000) / rate;
  }
}
