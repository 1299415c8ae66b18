import { useMemo, useRef, useState, type FormEvent } from 'react';
import { api, call } from '../../../api/client';
import { Button, SelectField, TextField } from '../../../ui/controls';
import { Empty } from '../../../ui/states';
import { formatNumber } from '../../../lib/format';
import { useUrlState } from '../../../lib/url-state';
import type { DatasetTabProps } from '../types';
import { BRUSH, brushWithoutAria, withBrush } from './brush';
import { ChartCard } from './ChartCard';
import { columnOptions, isNumeric, isTemporal, pick } from './columns';
import { SpecView } from './SpecView';
import { useChartSpec, useChartWidth } from './useChartSpec';
import { formatInstant, fromInputValue, rangeOfBrush, toInputValue, type TimeRange } from './zoom';

/**
 * Points asked for, whatever the range: the server reduces a longer series to them (minmax keeps each slice's
 * extremes), so a narrower range comes back finer.
 */
const POINTS = 400;
const HEIGHT = 320;

/**
 * A value over time with zoom: drag across the chart (an interval selection) or type a range, and the series of
 * that range alone is asked for — the same number of points over less time, so detail appears that the whole
 * range had to leave out.
 */
export function TimeseriesChart({ dataset, version }: DatasetTabProps) {
  const times = version.schema.filter(isTemporal);
  const values = version.schema.filter(isNumeric);
  const [url, setUrl] = useUrlState({ tsTime: '', tsValue: '', from: '', to: '' });
  const time = pick(times, url.tsTime);
  const value = pick(values, url.tsValue);
  const range: TimeRange | null = url.from || url.to ? { from: url.from, to: url.to } : null;
  const [ref, width] = useChartWidth<HTMLDivElement>();
  const brushed = useRef<TimeRange | null>(null);
  const [selection, setSelection] = useState<TimeRange | null>(null);

  const spec = useChartSpec(
    ['timeseries', dataset.id, version.id, time, value, range?.from, range?.to, width],
    () => {
      const query = {
        version: version.id,
        time,
        value,
        agg: 'mean' as const,
        points: POINTS,
        mode: 'minmax' as const,
        seriesLimit: 10,
        format: 'vega-lite' as const,
        width,
        height: HEIGHT,
        title: '',
        ...(range?.from ? { from: range.from } : {}),
        ...(range?.to ? { to: range.to } : {}),
      };
      return call(api.GET('/api/v1/datasets/{id}/timeseries', { params: { path: { id: dataset.id }, query } }));
    },
    time !== '' && value !== '' && width > 0,
  );
  const brushable = useMemo(() => (spec.data ? withBrush(spec.data) : undefined), [spec.data]);
  const query = useMemo(() => ({ ...spec, data: brushable }), [spec, brushable]) as typeof spec;

  const zoomTo = (next: TimeRange | null) => {
    brushed.current = null;
    setSelection(null);
    setUrl({ from: next?.from ?? '', to: next?.to ?? '' });
  };
  const signals = useMemo(
    () => ({
      [BRUSH]: (v: unknown) => {
        brushed.current = rangeOfBrush(v);
        setSelection(brushed.current);
      },
    }),
    [],
  );

  if (times.length === 0 || values.length === 0)
    return (
      <ChartCard title="Time series">
        <Empty title="A time series needs a timestamp or date column and a numeric column" />
      </ChartCard>
    );

  const points = (brushable?.data as { values?: unknown[] } | undefined)?.values?.length ?? 0;
  const where = range
    ? ` from ${range.from ? formatInstant(range.from) : 'the start'} to ${range.to ? formatInstant(range.to) : 'the end'}`
    : ', whole range';
  return (
    <ChartCard
      title="Time series"
      controls={
        <>
          <SelectField
            label="Time column"
            value={time}
            options={columnOptions(times)}
            onChange={(e) => setUrl({ tsTime: e.target.value, from: '', to: '' })}
          />
          <SelectField
            label="Value column"
            value={value}
            options={columnOptions(values)}
            onChange={(e) => setUrl({ tsValue: e.target.value })}
          />
        </>
      }
    >
      <ZoomForm key={`${url.from}|${url.to}`} range={range} onZoom={zoomTo} />
      <div
        ref={ref}
        className="chart-slot"
        // A drag across the chart ends here: zoom to what it selected. Pointer, not mouse, events: the brush cancels
        // the pointerdown's default, and with it the mouse events a browser would derive from it.
        onPointerUp={() => brushed.current && zoomTo(brushed.current)}
      >
        <SpecView
          query={query}
          label={`${value} over ${time}${where}: ${formatNumber(points)} points (UTC). Drag across the chart to zoom in.`}
          table={[
            { field: 'time', label: 'Time (UTC)', format: (v) => formatInstant(String(v)) },
            { field: 'value', label: value, format: (v) => formatNumber(v as number | null) },
          ]}
          signals={signals}
          patch={brushWithoutAria}
        />
      </div>
      {selection && (
        <p className="row">
          <Button small onClick={() => zoomTo(selection)}>
            Zoom to selection
          </Button>
          <span className="muted">
            {formatInstant(selection.from)} – {formatInstant(selection.to)}
          </span>
        </p>
      )}
    </ChartCard>
  );
}

/** The zoom range typed in (UTC), applied on submit: typing a date passes through values that are no range yet. */
function ZoomForm({ range, onZoom }: { range: TimeRange | null; onZoom: (range: TimeRange | null) => void }) {
  const [from, setFrom] = useState(toInputValue(range?.from ?? ''));
  const [to, setTo] = useState(toInputValue(range?.to ?? ''));
  const [error, setError] = useState<string>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = { from: fromInputValue(from), to: fromInputValue(to) };
    if (next.from && next.to && next.from > next.to) return setError('The end is before the start');
    setError(undefined);
    onZoom(next.from || next.to ? next : null);
  };
  return (
    <form className="toolbar zoom-form" onSubmit={submit} aria-label="Zoom to a time range">
      <TextField
        label="From (UTC)"
        type="datetime-local"
        step={1}
        value={from}
        onChange={(e) => setFrom(e.target.value)}
      />
      <TextField
        label="To (UTC)"
        type="datetime-local"
        step={1}
        value={to}
        error={error}
        onChange={(e) => setTo(e.target.value)}
      />
      <Button type="submit">Zoom</Button>
      {range && (
        <Button variant="ghost" onClick={() => onZoom(null)}>
          Show whole range
        </Button>
      )}
    </form>
  );
}
