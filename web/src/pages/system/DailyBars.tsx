import { useId } from 'react';
import { formatDateTime } from '../../lib/format';

export interface DailyPoint {
  date: string;
  value: number;
}

const WIDTH = 240;
const HEIGHT = 48;

/**
 * A daily series as small SVG bars (no chart library: 30 bars need none), with its text alternative: a one-line
 * summary read as the image's name, and the numbers in a table that opens below it.
 */
export function DailyBars({
  title,
  points,
  format,
}: {
  title: string;
  points: DailyPoint[];
  format: (n: number) => string;
}) {
  const id = useId();
  const max = Math.max(0, ...points.map((p) => p.value));
  const total = points.reduce((sum, p) => sum + p.value, 0);
  const peak = points.find((p) => p.value === max && max > 0);
  const summary =
    `${title}, ${points.length} days: ${format(total)} in all` +
    (peak ? `, most on ${peak.date} (${format(peak.value)})` : ', none on any day');
  const step = points.length > 0 ? WIDTH / points.length : WIDTH;
  const last = points.at(-1);
  return (
    <figure className="daily-bars">
      <figcaption id={`${id}-title`}>
        <span className="daily-bars-title">{title}</span>
        <span className="daily-bars-total">{format(total)}</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={summary}
        className="daily-bars-svg"
      >
        <line x1={0} x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} className="daily-bars-axis" />
        {points.map((p, i) => {
          const h = max > 0 ? Math.max(p.value > 0 ? 1.5 : 0, (p.value / max) * (HEIGHT - 2)) : 0;
          return (
            <rect key={p.date} x={i * step + step * 0.15} width={step * 0.7} y={HEIGHT - h} height={h}>
              <title>{`${p.date}: ${format(p.value)}`}</title>
            </rect>
          );
        })}
      </svg>
      <details className="daily-bars-table">
        <summary>
          Numbers<span className="visually-hidden"> of {title.toLowerCase()} per day</span>
          {last && <span className="muted"> (today {format(last.value)})</span>}
        </summary>
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">{summary}</caption>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col" className="num">
                  {title}
                </th>
              </tr>
            </thead>
            <tbody>
              {points.map((p) => (
                <tr key={p.date}>
                  <td>
                    <time dateTime={p.date} title={formatDateTime(`${p.date}T00:00:00Z`)}>
                      {p.date}
                    </time>
                  </td>
                  <td className="num">{format(p.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
