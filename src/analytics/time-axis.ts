/**
 * The ticks and labels of a UTC time axis, chosen from the span of the data and the room for labels: one label
 * format per axis (Vega's default mixes `2024`, `Tue 02` and `01 AM` on one axis and shows the year only at its
 * turn), with the year wherever the labels are dates. Ticks whose labels would leave out the date (hours of one
 * day) name that day in the axis title instead. The ticks are computed here, as instants: Vega-Lite's interval
 * `tickCount` names (`hour`, `minute`) are not the ones Vega reads (`hours`), and fail at render time.
 */

export type TimeInterval = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

export interface TimeAxis {
  /** Tick instants, epoch milliseconds, ascending, within the data's span. */
  values: number[];
  /** A d3 time format, applied in UTC. */
  format: string;
  /** The day every tick falls on (`2024-01-31`), when the labels are times of that day only. */
  day: string | null;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Tick steps, as d3 picks among them; months and years by their mean length, which is enough to choose one. */
const STEPS: { interval: TimeInterval; step: number; ms: number }[] = [
  ...[1, 5, 15, 30].map((step) => ({ interval: 'second' as const, step, ms: step * SECOND })),
  ...[1, 5, 15, 30].map((step) => ({ interval: 'minute' as const, step, ms: step * MINUTE })),
  ...[1, 3, 6, 12].map((step) => ({ interval: 'hour' as const, step, ms: step * HOUR })),
  ...[1, 2].map((step) => ({ interval: 'day' as const, step, ms: step * DAY })),
  { interval: 'week', step: 1, ms: 7 * DAY },
  ...[1, 3].map((step) => ({ interval: 'month' as const, step, ms: step * 30.44 * DAY })),
  ...[1, 2, 5, 10, 25, 50, 100, 250, 500, 1000].map((step) => ({
    interval: 'year' as const,
    step,
    ms: step * 365.25 * DAY,
  })),
];

/** Width of a label in px per character at Vega's default 10px axis font, and the gap kept between two labels. */
const CHAR_PX = 6;
const LABEL_GAP_PX = 24;

function formatFor(interval: TimeInterval, oneDay: boolean): string {
  if (interval === 'year') return '%Y';
  if (interval === 'month') return '%b %Y';
  if (interval === 'day' || interval === 'week') return '%Y-%m-%d';
  const time = interval === 'second' ? '%H:%M:%S' : '%H:%M';
  return oneDay ? time : `%Y-%m-%d ${time}`;
}

/** Characters a label of the format takes (`%b` three, every other directive as its digits). */
const labelChars = (format: string) => format.replace(/%[Yy]/g, 'YYYY').replace(/%[a-zA-Z]/g, 'XX').length;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The axis for data from `loMs` to `hiMs` (epoch milliseconds) drawn `widthPx` wide: the finest step whose labels
 * fit side by side.
 */
export function timeAxis(loMs: number, hiMs: number, widthPx: number): TimeAxis {
  const span = Math.max(0, hiMs - loMs);
  const oneDay = isoDay(loMs) === isoDay(hiMs);
  for (const s of STEPS) {
    const format = formatFor(s.interval, oneDay);
    const fits = Math.max(2, Math.floor(widthPx / (labelChars(format) * CHAR_PX + LABEL_GAP_PX)));
    if (span / s.ms <= fits)
      return { values: ticks(loMs, hiMs, s.interval, s.step), format, day: oneDay && s.ms < DAY ? isoDay(loMs) : null };
  }
  // More than a thousand years a tick: none but the ends.
  return { values: [loMs, hiMs], format: '%Y', day: null };
}

/** The first tick at or after `ms`: a multiple of `step` units counted from the epoch (whole UTC seconds, minutes…). */
const fixedTick = (ms: number, unitMs: number, step: number, shiftMs = 0) =>
  Math.ceil((ms - shiftMs) / (unitMs * step)) * unitMs * step + shiftMs;

/** 1970-01-05, the first Monday of the epoch: weeks start on Monday, as the weekly buckets do. */
const FIRST_MONDAY_MS = 4 * DAY;

const UNIT_MS: Partial<Record<TimeInterval, number>> = { second: SECOND, minute: MINUTE, hour: HOUR, day: DAY };

/** Midnight UTC of the first of a month; Date.UTC would read years 0–99 as 1900–1999. */
function firstOfMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 1);
  return d.getTime();
}

/** Ticks from `loMs` to `hiMs` every `step` intervals, at round UTC instants (midnights, first days of months…). */
export function ticks(loMs: number, hiMs: number, interval: TimeInterval, step: number): number[] {
  const out: number[] = [];
  const unit = UNIT_MS[interval];
  if (unit !== undefined || interval === 'week') {
    const every = interval === 'week' ? 7 * DAY : unit! * step;
    for (
      let t = interval === 'week' ? fixedTick(loMs, 7 * DAY, 1, FIRST_MONDAY_MS) : fixedTick(loMs, unit!, step);
      t <= hiMs;
      t += every
    )
      out.push(t);
    return out;
  }
  const start = new Date(loMs);
  if (interval === 'month') {
    for (let m = Math.ceil((start.getUTCFullYear() * 12 + start.getUTCMonth()) / step) * step; ; m += step) {
      const t = firstOfMonth(Math.floor(m / 12), m % 12);
      if (t > hiMs) break;
      if (t >= loMs) out.push(t);
    }
    return out;
  }
  for (let y = Math.ceil(start.getUTCFullYear() / step) * step; ; y += step) {
    const t = firstOfMonth(y, 0);
    if (t > hiMs) break;
    if (t >= loMs) out.push(t);
  }
  return out;
}
