// One autocannon run (programmatic API), in its own process so that it can be pinned to a core apart from the
// server under test. Usage: node bench/load.mjs '<json: {url, connections, duration, warmup, headers?}>' → one JSON line.
import autocannon from 'autocannon';

const { url, connections = 10, duration = 10, warmup = 2, headers = {} } = JSON.parse(process.argv[2] ?? '{}');
if (!url || !/^http:\/\/127\.0\.0\.1:\d+\//.test(url))
  throw new Error(`load.mjs only targets http://127.0.0.1:<port>/..., got ${url}`);

const result = await autocannon({
  url,
  headers,
  connections,
  duration,
  warmup: warmup > 0 ? { connections, duration: warmup } : undefined,
  renderProgressBar: false,
  renderResultsTable: false,
  renderLatencyTable: false,
});

process.stdout.write(
  `${JSON.stringify({
    url,
    connections,
    durationS: duration,
    warmupS: warmup,
    requestsTotal: result.requests.total,
    reqPerSec: result.requests.average,
    reqPerSecStddev: result.requests.stddev,
    latencyMs: {
      mean: result.latency.mean,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    throughputBytesPerSec: result.throughput.average,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  })}\n`,
);
