/**
 * The time series' zoom: a range of instants kept in the URL as ISO 8601 UTC (`from`, `to`), edited as
 * `datetime-local` values that are read as UTC (the charts show UTC, whatever the browser's zone).
 */
export interface TimeRange {
  from: string;
  to: string;
}

/** `2024-01-02T03:04:05.000Z` → `2024-01-02T03:04:05`, what a `datetime-local` input with seconds shows. */
export function toInputValue(iso: string): string {
  return iso ? iso.slice(0, 19) : '';
}

/** A `datetime-local` value (minutes or seconds) read as UTC → ISO; '' for '' or a value that is no instant. */
export function fromInputValue(value: string): string {
  if (!value) return '';
  const ms = Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/**
 * An interval selection's value (`{ time: [a, b] }`, Dates or epoch ms, either order) as a range of instants;
 * null for an empty selection or one narrower than a millisecond (a click, not a drag).
 */
export function rangeOfBrush(value: unknown): TimeRange | null {
  const pair = (value as { time?: unknown } | null)?.time;
  if (!Array.isArray(pair) || pair.length !== 2) return null;
  const [a, b] = pair.map((x) => (x instanceof Date ? x.getTime() : typeof x === 'number' ? x : NaN)) as [
    number,
    number,
  ];
  if (!Number.isFinite(a) || !Number.isFinite(b) || Math.abs(a - b) < 1) return null;
  return { from: new Date(Math.min(a, b)).toISOString(), to: new Date(Math.max(a, b)).toISOString() };
}

/** The instant as people read it in a caption: `2024-01-02 03:04:05 UTC`. */
export function formatInstant(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}
