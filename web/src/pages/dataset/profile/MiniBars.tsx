/**
 * A small bar chart drawn as plain SVG (no Vega: the profile shows one per column, and it must appear at once):
 * vertical bars for a histogram's bins, horizontal bars for top values. Colours are the theme's variables.
 * The SVG is an image named by `label`; the numbers themselves are in the text beside it.
 */
const WIDTH = 160;
const HEIGHT = 40;

export function MiniHistogram({ counts, label }: { counts: number[]; label: string }) {
  const max = Math.max(1, ...counts);
  const bar = WIDTH / Math.max(1, counts.length);
  return (
    <svg
      className="mini-chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width={WIDTH}
      height={HEIGHT}
      role="img"
      aria-label={label}
      preserveAspectRatio="none"
    >
      <line className="mini-chart-axis" x1={0} x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} />
      {counts.map((count, i) => {
        // A non-empty bin is at least a pixel high, so it is not mistaken for an empty one.
        const h = count === 0 ? 0 : Math.max(1, (count / max) * (HEIGHT - 2));
        return (
          <rect key={i} className="mini-chart-bar" x={i * bar + 0.5} y={HEIGHT - 1 - h} width={bar - 1} height={h} />
        );
      })}
    </svg>
  );
}

/** Top values as labelled bars, the longest the most frequent; values are text (never markup). */
export function TopValues({ values, rows }: { values: { value: string; count: number }[]; rows: number }) {
  const max = Math.max(1, ...values.map((v) => v.count));
  return (
    <ul className="top-values" aria-label="Most frequent values">
      {values.map((v) => (
        <li key={v.value}>
          <span className="top-values-label" title={v.value}>
            {v.value === '' ? '(empty)' : v.value}
          </span>
          <span className="top-values-bar" aria-hidden="true">
            <span style={{ width: `${(v.count / max) * 100}%` }} />
          </span>
          <span className="top-values-count num">
            {v.count.toLocaleString()}
            {rows > 0 && <span className="muted"> · {Math.round((v.count / rows) * 100)}%</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}
