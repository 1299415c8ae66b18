import { describe, expect, it } from 'vitest';
import { TransferRate } from './transfer-rate';

describe('transfer rate and time left', () => {
  it('is unknown until an interval can be measured', () => {
    const rate = new TransferRate();
    expect(rate.bytesPerSecond()).toBeNull();
    rate.add(1000, 0);
    rate.add(1100, 100);
    expect(rate.bytesPerSecond()).toBeNull();
    expect(rate.etaMs(10_000)).toBeNull();
  });

  it('measures the recent seconds, not the whole transfer', () => {
    const rate = new TransferRate();
    // 1 MB/s for ten seconds, then 100 kB/s for five.
    for (let t = 0; t <= 10_000; t += 500) rate.add(t * 1000, t);
    for (let t = 10_500; t <= 15_000; t += 500) rate.add(10_000_000 + (t - 10_000) * 100, t);
    expect(rate.bytesPerSecond()).toBeCloseTo(100_000, -3);
    // 10.5 MB sent of 11 MB at 100 kB/s: five seconds left.
    expect(rate.etaMs(11_000_000)).toBeCloseTo(5000, -2);
  });

  it('starts afresh after a pause', () => {
    const rate = new TransferRate();
    rate.add(0, 0);
    rate.add(500_000, 1000);
    rate.reset();
    expect(rate.bytesPerSecond()).toBeNull();
  });
});
