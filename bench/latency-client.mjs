// Sequential request latency, one keep-alive connection, in its own process (pinned apart from the server under
// test). Each request is sent only after the previous answer arrived, so the figures are per-request service
// latency over HTTP (not queueing under load), with microsecond resolution (autocannon records whole ms).
// Usage: node bench/latency-client.mjs '<json: {url, method?, headers?, body?, requests, warmup}>' → one JSON line.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const {
  url,
  method = 'GET',
  headers = {},
  body = null,
  requests = 2000,
  warmup = 200,
} = JSON.parse(process.argv[2] ?? '{}');
if (!url || !/^http:\/\/127\.0\.0\.1:\d+\//.test(url))
  throw new Error(`latency-client.mjs only targets http://127.0.0.1:<port>/..., got ${url}`);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const payload = body === null ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
const requestHeaders = payload
  ? { 'content-type': 'application/json', 'content-length': String(payload.length), ...headers }
  : headers;

function once() {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method, agent, headers: requestHeaders }, (res) => {
      let size = 0;
      res.on('data', (c) => (size += c.length));
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started, size }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload ?? undefined);
  });
}

const latencies = [];
let non2xx = 0;
let bytes = 0;
for (let i = 0; i < warmup + requests; i++) {
  const r = await once();
  if (r.status < 200 || r.status >= 300) non2xx++;
  if (i >= warmup) {
    latencies.push(r.ms);
    bytes = r.size;
  }
}
agent.destroy();
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)];
const round3 = (n) => Math.round(n * 1000) / 1000;
process.stdout.write(
  `${JSON.stringify({
    url,
    method,
    requests,
    warmup,
    non2xx,
    responseBytes: bytes,
    latencyMs: {
      mean: round3(latencies.reduce((a, b) => a + b, 0) / latencies.length),
      p50: round3(at(0.5)),
      p90: round3(at(0.9)),
      p99: round3(at(0.99)),
      max: round3(latencies[latencies.length - 1]),
    },
  })}\n`,
);
