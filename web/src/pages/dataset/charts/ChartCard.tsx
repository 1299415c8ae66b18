import { useId, type ReactNode } from 'react';

/** One chart of the Charts tab: a titled card, its pickers in a toolbar, then the chart (or why there is none). */
export function ChartCard({ title, controls, children }: { title: string; controls?: ReactNode; children: ReactNode }) {
  const id = useId();
  return (
    <section className="card stack chart-card" aria-labelledby={id}>
      <h2 id={id} className="chart-card-title">
        {title}
      </h2>
      {controls && <div className="toolbar chart-card-controls">{controls}</div>}
      {children}
    </section>
  );
}
