import { CorrelationChart } from './charts/CorrelationChart';
import { HistogramChart } from './charts/HistogramChart';
import { TimeseriesChart } from './charts/TimeseriesChart';
import { ValueCountsChart } from './charts/ValueCountsChart';
import type { DatasetTabProps } from './types';
import './charts/charts.css';

/**
 * The version's charts, each drawn from the Vega-Lite spec the API answers (vega-embed loads with the first chart).
 * Column choices and the time series' zoom live in the URL, so a view can be linked to.
 */
export default function ChartsTab(props: DatasetTabProps) {
  return (
    <div className="stack charts-tab">
      <TimeseriesChart {...props} />
      <div className="charts-pair">
        <HistogramChart {...props} />
        <ValueCountsChart {...props} />
      </div>
      <CorrelationChart {...props} />
    </div>
  );
}
