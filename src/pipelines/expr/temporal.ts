/**
 * Checks on text literals that DuckDB would otherwise reject only while running the query: dates and timestamps
 * written as text (`ts >= '2024-01-31'`) and strftime formats.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * `date` for `YYYY-MM-DD`, `timestamp` for a date with a time (`T` or space, optional seconds, fraction and
 * `Z`/`±HH[:MM]` offset; no offset means UTC), undefined for anything else, including impossible days like Feb 30.
 */
export function temporalLiteral(text: string): 'date' | 'timestamp' | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0));
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined
  )
    return undefined;
  if (
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return undefined;
  const zone = m[7] === undefined || m[7] === 'Z' ? undefined : /^[+-](\d{2}):?(\d{2})?$/.exec(m[7]);
  if (zone && (Number(zone[1]) > 15 || Number(zone[2] ?? 0) > 59)) return undefined;
  return m[4] === undefined ? 'date' : 'timestamp';
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (year: number, month: number): number =>
  month === 2 && ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0) ? 29 : (DAYS[month - 1] ?? 0);

/** strftime specifiers DuckDB accepts (checked against DuckDB 1.5); `%-x` drops the leading zero for these letters. */
const SPECIFIERS = new Set('aAwudbBhmyYGHIpMSfgnzZjUWVcxXT%');
const UNPADDED = new Set('dmyHIMSj');

/** The offending specifier (`%Q`, or `%` at the end) of a strftime format, or undefined when all are supported. */
export function badFormatSpecifier(format: string): string | undefined {
  for (let i = format.indexOf('%'); i !== -1; i = format.indexOf('%', i)) {
    const next = format[i + 1];
    if (next === '-') {
      const letter = format[i + 2];
      if (letter === undefined || !UNPADDED.has(letter)) return format.slice(i, i + 3);
      i += 3;
    } else {
      if (next === undefined || !SPECIFIERS.has(next)) return format.slice(i, i + 2);
      i += 2;
    }
  }
  return undefined;
}
