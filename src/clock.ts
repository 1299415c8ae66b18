/**
 * The time as the services that decide by it read it: expiry, leases, backoff and retention. Injected (the system
 * clock by default) so that a test can move time instead of waiting for it. Timers still run on real time: a clock
 * says what time it is, never when to wake up.
 */
export interface Clock {
  now(): Date;
  /** Milliseconds since the epoch, as Date.now(). */
  nowMs(): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  nowMs: () => Date.now(),
};

/** A clock that stands still until told to move (tests). */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: Date | number = Date.now()) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  nowMs(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(at: Date | number): void {
    this.ms = typeof at === 'number' ? at : at.getTime();
  }
}

/** ISO 8601 of the clock's time `offsetMs` from now, as the tables store times. */
export function isoAfter(clock: Clock, offsetMs = 0): string {
  return new Date(clock.nowMs() + offsetMs).toISOString();
}
