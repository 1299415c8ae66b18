/**
 * Bucket widths written the way people say them: `15m`, `1h`, `1d`, `1w`, `1mo`, `1y`. The grammar is closed
 * (a whole number and one unit), so a width can only become one of a fixed set of DuckDB interval texts.
 */

export type DurationUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'mo' | 'y';

export interface Duration {
  amount: number;
  unit: DurationUnit;
  /** DuckDB interval text, e.g. `15 minutes`: cast with `CAST($n AS INTERVAL)`. */
  interval: string;
  /**
   * Days, weeks, months and years follow the calendar (a day is midnight to midnight in some time zone, 23 or 25
   * hours across a DST change); seconds, minutes and hours are fixed lengths of absolute time.
   */
  calendar: boolean;
  /** The shortest it can be, in seconds (a month is at least 28 days, a year 365). */
  shortestSeconds: number;
}

const UNITS: Record<DurationUnit, { name: string; seconds?: number; shortest: number }> = {
  s: { name: 'seconds', seconds: 1, shortest: 1 },
  m: { name: 'minutes', seconds: 60, shortest: 60 },
  h: { name: 'hours', seconds: 3600, shortest: 3600 },
  d: { name: 'days', seconds: 86_400, shortest: 86_400 },
  w: { name: 'weeks', seconds: 7 * 86_400, shortest: 7 * 86_400 },
  mo: { name: 'months', shortest: 28 * 86_400 },
  y: { name: 'years', shortest: 365 * 86_400 },
};

/** The longest width accepted: a leap year of fixed units, or 12 months, or 1 year. */
const MAX_SECONDS = 366 * 86_400;
const MAX_MONTHS = 12;

const GRAMMAR = /^([1-9][0-9]{0,7})(s|m|h|d|w|mo|y)$/;

export const DURATION_HELP =
  "a whole number and a unit (s, m, h, d, w, mo, y) between 1s and 1y, e.g. '15m', '1h', '1d', '1mo'";

/** The duration `text` denotes in the grammar, of any length (time series buckets); undefined when it is not one. */
export function readDuration(text: string): Duration | undefined {
  const match = GRAMMAR.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] as DurationUnit;
  const { name, shortest } = UNITS[unit];
  return {
    amount,
    unit,
    interval: `${amount} ${name}`,
    calendar: !['s', 'm', 'h'].includes(unit),
    shortestSeconds: amount * shortest,
  };
}

/** The duration `text` denotes, or undefined when it is not in the grammar or not within 1 second … 1 year. */
export function parseDuration(text: string): Duration | undefined {
  const duration = readDuration(text);
  if (!duration) return undefined;
  const { amount, unit } = duration;
  const months = unit === 'mo' ? amount : unit === 'y' ? amount * 12 : undefined;
  if (months !== undefined ? months > MAX_MONTHS : amount * (UNITS[unit].seconds ?? 0) > MAX_SECONDS) return undefined;
  return duration;
}
