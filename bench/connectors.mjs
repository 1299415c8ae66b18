// Connectors benchmark (`node bench/run.mjs connectors`, after `npm run build`):
//
// 1. MQTT ingest. The same publisher (bench/connectors-mqtt-floor.mjs, a child process writing QoS 1 packets) feeds,
//    one after the other, a bare `mqtt` subscriber appending to a file (the floor) and `weir serve` with an MQTT
//    connector into a live dataset. Sustained messages/s: the floor from its first message received to its last;
//    Weir from the start of the publisher to the last message stored durably in the append log (which is when its
//    PUBACK goes out), read from its Prometheus counter every 50 ms: a slightly pessimistic figure for Weir. Publish-to-visible: a prober asks the live dataset for max(id) every 100 ms; a message is visible at
//    the first probe that sees an id at least as high (ids arrive in order on one connection), and its publish time
//    is the `ts` in its payload, read back from the dataset at the end.
//    Targets: ≥ 20,000 messages/s, ≥ 0.5× the floor, p99 publish-to-visible < flush interval + 1 s.
// 2. HTTP polling. 1,000 ThingSpeak connectors against a local fake ThingSpeak (one new entry per channel per poll),
//    each polled every minute within its 15-requests-a-minute budget, their fire times spread over the minute (6-field
//    cron with the channel's second). Figures: polls made against polls due, the server's CPU per poll, and its CPU
//    share (CPU time / wall time) while polling.
//
// Environment: BENCH_MQTT_URL (default: a Mosquitto of the benchmark's own, see privateBroker), BENCH_MQTT_MESSAGES (200000), BENCH_POLL_CHANNELS (1000),
// BENCH_POLL_MINUTES (3), BENCH_FLUSH_MS (5000).
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { mqttFloor, publishMessages } from './connectors-mqtt-floor.mjs';
import {
  HIGH_RATE_LIMITS,
  WORK_DIR,
  commandLine,
  cpuTimeMs,
  childPids,
  describeMachine,
  freePort,
  log,
  performance,
  round,
  sleep,
  startChild,
  startWeir,
  writeResult,
} from './lib.mjs';

/** Set: use that broker as it is. Unset: a Mosquitto of the benchmark's own, configured for high-rate QoS 1 (below). */
const GIVEN_MQTT_URL = process.env.BENCH_MQTT_URL || null;
const MESSAGES = Number(process.env.BENCH_MQTT_MESSAGES || 200_000);
const CHANNELS = Number(process.env.BENCH_POLL_CHANNELS || 1000);
const POLL_MINUTES = Number(process.env.BENCH_POLL_MINUTES || 3);
const FLUSH_MS = Number(process.env.BENCH_FLUSH_MS || 5000);

const percentile = (sorted, p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function api(weir, method, route, body) {
  const res = await fetch(`${weir.url}/api/v1${route}`, {
    method,
    headers: { ...weir.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/** A counter of Weir's /metrics, summed over the label sets that match. */
async function metric(weir, name, match) {
  const text = await (await fetch(`${weir.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) && line.includes(match)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** CPU time of the server and its job worker process. */
function serverCpuMs(pid) {
  return [pid, ...childPids(pid)].reduce((n, p) => n + (cpuTimeMs(p) ?? 0), 0);
}

/**
 * A Mosquitto (the Debian package) of this run, on a free loopback port, with the two limits a high-rate QoS 1
 * subscriber needs lifted: `max_inflight_messages` (default 20 unacknowledged messages to a client, which caps any
 * subscriber that acknowledges only what it stored, Weir's group commit included, at 20 per commit) and
 * `max_queued_messages` (default 1000: beyond it a busy subscriber's messages are dropped). docs/connectors.md says
 * to set both on a production broker.
 */
async function privateBroker() {
  const port = await freePort();
  const dir = path.join(WORK_DIR, 'mosquitto');
  mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      'log_type error',
      '',
    ].join('\n'),
  );
  const proc = startChild('mosquitto', ['-c', conf], { label: 'mosquitto' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (i > 100) throw new Error('the benchmark Mosquitto did not start (is the mosquitto package installed?)');
    await sleep(50);
  }
  return { url, stop: () => proc.stop() };
}

async function mqttIngest() {
  const broker = GIVEN_MQTT_URL ? { url: GIVEN_MQTT_URL, stop: async () => {} } : await privateBroker();
  try {
    return {
      broker: GIVEN_MQTT_URL ? 'given' : 'private (max_inflight_messages 0, max_queued_messages 0)',
      ...(await mqttIngestOn(broker.url)),
    };
  } finally {
    await broker.stop();
  }
}

async function mqttIngestOn(MQTT_URL) {
  const floor = await mqttFloor({ url: MQTT_URL, messages: MESSAGES });
  const dataDir = path.join(WORK_DIR, 'connectors-mqtt');
  const weir = await startWeir({
    dataDir,
    env: { ...HIGH_RATE_LIMITS, WEIR_CONNECTORS_ALLOW_PRIVATE: 'true' },
  });
  try {
    const topic = `bench/weir/${randomBytes(6).toString('hex')}/readings`;
    const { connector } = await api(weir, 'POST', '/connectors', {
      name: 'bench-mqtt',
      type: 'mqtt',
      config: { url: MQTT_URL, topics: [topic], qos: 1, payload: 'json', keyField: 'id' },
      fields: [
        { name: 'id', type: 'bigint' },
        { name: 'ts', type: 'bigint' },
        { name: 'v', type: 'double' },
      ],
      live: { flushMs: FLUSH_MS, flushRows: 50_000 },
    });
    for (;;) {
      const c = await api(weir, 'GET', `/connectors/${connector.id}`);
      if (c.health.stream === 'connected') break;
      await sleep(50);
    }
    const stored = () => metric(weir, 'weir_connector_records_total', `outcome="stored"`);
    // Stored-count samples (ingest rate) and visibility probes (publish-to-visible), side by side.
    let last = null;
    let storing = true;
    const counting = (async () => {
      while (storing) {
        const n = await stored();
        const at = performance.now();
        if (n >= MESSAGES && last === null) last = { at, n };
        if (last) break;
        await sleep(50);
      }
    })();
    const probes = [];
    let probing = true;
    const probing$ = (async () => {
      while (probing) {
        const body = await api(weir, 'POST', `/datasets/${connector.datasetId}/query`, {
          aggregations: [{ function: 'max', expression: 'id', as: 'top' }],
        }).catch(() => null);
        const top = body?.rows?.[0]?.[0];
        if (top !== null && top !== undefined) probes.push({ wall: Date.now(), top: Number(top) });
        if (Number(top) >= MESSAGES - 1) break;
        await sleep(100);
      }
    })();
    const cpuBefore = serverCpuMs(weir.pid);
    const wallBefore = performance.now();
    log(`connectors: publishing ${MESSAGES} QoS 1 messages to Weir`);
    const publisher = await publishMessages({ url: MQTT_URL, topic, messages: MESSAGES });
    const deadline = Date.now() + 120_000;
    while (last === null && Date.now() < deadline) await sleep(100);
    storing = false;
    await counting;
    const cpuMs = serverCpuMs(weir.pid) - cpuBefore;
    const wallMs = performance.now() - wallBefore;
    const probeDeadline = Date.now() + FLUSH_MS + 30_000;
    while (probes.at(-1)?.top !== MESSAGES - 1 && Date.now() < probeDeadline) await sleep(100);
    probing = false;
    await probing$;

    // Publish times of every message, from the dataset itself.
    const csv = await (
      await fetch(`${weir.url}/api/v1/datasets/${connector.datasetId}/download?format=csv`, { headers: weir.auth })
    ).text();
    const publishedAt = new Float64Array(MESSAGES).fill(NaN);
    for (const line of csv.split('\n').slice(1)) {
      const [id, ts] = line.split(',');
      if (id) publishedAt[Number(id)] = Number(ts);
    }
    const latencies = [];
    let p = 0;
    for (let id = 0; id < MESSAGES; id++) {
      while (p < probes.length && probes[p].top < id) p++;
      if (p === probes.length || Number.isNaN(publishedAt[id])) continue;
      latencies.push(probes[p].wall - publishedAt[id]);
    }
    latencies.sort((a, b) => a - b);
    const visibleCount = latencies.length;
    // From the moment the publisher starts to the sample that saw the last message stored: the sampling itself waits
    // behind the ingest on Weir's event loop, so the first non-zero sample is no good start mark.
    const seconds = last ? (last.at - wallBefore) / 1000 : null;
    const rate = seconds ? round(last.n / seconds, 0) : null;
    if (!last) log(`connectors: only ${await stored()} of ${MESSAGES} messages were stored within the time allowed`);
    return {
      floor,
      weir: {
        messages: MESSAGES,
        stored: last?.n ?? (await stored()),
        visible: visibleCount,
        messagesPerSecond: rate,
        seconds: round(seconds, 3),
        publishToVisibleMs: {
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          max: latencies.at(-1) ?? null,
        },
        serverCpuShare: round(cpuMs / wallMs, 2),
        publisher,
        flushMs: FLUSH_MS,
      },
    };
  } finally {
    await weir.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A fake ThingSpeak for `channels` channels: every request for a channel adds one entry to it first. */
async function fakeThingSpeak() {
  const next = new Map();
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const m = /^\/channels\/(\d+)\/feeds\.json/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end('-1');
      return;
    }
    const id = Number(m[1]);
    const n = (next.get(id) ?? 0) + 1;
    next.set(id, n);
    const at = new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString().replace('.000Z', 'Z');
    const entries = Array.from({ length: n }, (_, i) => ({
      created_at: new Date(Date.UTC(2026, 0, 1) + (i + 1) * 60_000).toISOString().replace('.000Z', 'Z'),
      entry_id: i + 1,
      field1: String(20 + ((id + i) % 10)),
    })).slice(-100);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        channel: {
          id,
          name: `channel ${id}`,
          field1: 'Temperature',
          created_at: '2026-01-01T00:00:00Z',
          last_entry_id: n,
        },
        feeds: entries,
      }),
    );
    void at;
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export async function httpPolling() {
  const fake = await fakeThingSpeak();
  const dataDir = path.join(WORK_DIR, 'connectors-poll');
  const weir = await startWeir({
    dataDir,
    env: {
      ...HIGH_RATE_LIMITS,
      WEIR_CONNECTORS_ALLOW_PRIVATE: 'true',
      ...(process.env.BENCH_PROFILE ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' } : {}),
    },
  });
  try {
    log(`connectors: creating ${CHANNELS} ThingSpeak connectors`);
    const createStarted = performance.now();
    for (let i = 0; i < CHANNELS; i++)
      await api(weir, 'POST', '/connectors', {
        name: `channel-${i}`,
        type: 'thingspeak',
        config: { channelId: 1000 + i, baseUrl: fake.url, results: 100 },
        fields: [
          { name: 'entry_id', type: 'bigint' },
          { name: 'created_at', type: 'timestamp' },
          { name: 'temperature', type: 'double' },
        ],
        schedule: `${i % 60} * * * * *`,
        safety: { requestsPerMinute: 15 },
      });
    const createSeconds = (performance.now() - createStarted) / 1000;
    // Measured over whole minutes, starting at the next minute boundary.
    await sleep(60_000 - (Date.now() % 60_000) + 200);
    const syncsBefore = await metric(weir, 'weir_connector_syncs_total', 'status=');
    const requestsBefore = fake.requests();
    const cpuBefore = serverCpuMs(weir.pid);
    const wallBefore = performance.now();
    log(`connectors: polling for ${POLL_MINUTES} minutes`);
    await sleep(POLL_MINUTES * 60_000);
    const cpuMs = serverCpuMs(weir.pid) - cpuBefore;
    const wallMs = performance.now() - wallBefore;
    const polls = (await metric(weir, 'weir_connector_syncs_total', 'status=')) - syncsBefore;
    const failed = await metric(weir, 'weir_connector_syncs_total', 'status="failed"');
    const requests = fake.requests() - requestsBefore;
    const due = CHANNELS * POLL_MINUTES;
    return {
      channels: CHANNELS,
      minutes: POLL_MINUTES,
      createSeconds: round(createSeconds, 1),
      due,
      polls,
      failed,
      requests,
      cpuMsPerPoll: round(cpuMs / Math.max(1, polls), 2),
      serverCpuShare: round(cpuMs / wallMs, 3),
    };
  } finally {
    await weir.stop();
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runConnectors() {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const machine = await describeMachine();
  const mqtt = await mqttIngest();
  const polling = await httpPolling();
  const w = mqtt.weir;
  const ratio =
    w.messagesPerSecond && mqtt.floor.messagesPerSecond
      ? round(w.messagesPerSecond / mqtt.floor.messagesPerSecond, 2)
      : null;
  const targets = [
    {
      what: 'MQTT ingest into a live dataset',
      value: w.messagesPerSecond,
      unit: 'msg/s',
      target: '≥ 20000',
      pass: (w.messagesPerSecond ?? 0) >= 20_000,
    },
    {
      what: 'MQTT ingest vs bare mqtt subscriber to a file',
      value: ratio,
      unit: '×',
      target: '≥ 0.5',
      pass: (ratio ?? 0) >= 0.5,
    },
    {
      what: 'p99 publish-to-visible in a query',
      value: w.publishToVisibleMs.p99,
      unit: 'ms',
      target: `< ${FLUSH_MS + 1000} (flush interval + 1 s)`,
      pass: w.publishToVisibleMs.p99 !== null && w.publishToVisibleMs.p99 < FLUSH_MS + 1000,
    },
    {
      what: 'every MQTT message stored once',
      value: w.stored,
      unit: `of ${MESSAGES}`,
      target: `= ${MESSAGES}`,
      pass: w.stored === MESSAGES,
    },
    {
      what: `HTTP polls made of those due (${CHANNELS} channels, ${POLL_MINUTES} min)`,
      value: polling.polls,
      unit: `of ${polling.due}`,
      target: '≥ 95 %',
      pass: polling.polls >= 0.95 * polling.due,
    },
  ];
  const result = {
    name: 'connectors',
    title: 'Connectors: MQTT ingest into a live dataset, and HTTP polling of 1,000 channels',
    startedAt,
    durationS: round((performance.now() - started) / 1000, 1),
    machine,
    command: commandLine(),
    targets,
    figures: [
      ['MQTT messages', MESSAGES],
      ['floor (bare subscriber → file), msg/s', mqtt.floor.messagesPerSecond],
      ['floor p99 publish-to-receive, ms', mqtt.floor.latencyMs.p99],
      ['Weir → live dataset (durable, acknowledged), msg/s', w.messagesPerSecond],
      [
        'Weir p50 / p99 / max publish-to-visible, ms',
        `${w.publishToVisibleMs.p50} / ${w.publishToVisibleMs.p99} / ${w.publishToVisibleMs.max}`,
      ],
      ['Weir flush interval, ms', FLUSH_MS],
      ['Weir server CPU share while ingesting (2 cores = 2.0)', w.serverCpuShare],
      [
        'publisher msg/s (floor run / Weir run)',
        `${mqtt.floor.publisher.messagesPerSecond} / ${round(w.publisher.published / w.publisher.seconds, 0)}`,
      ],
      ['polling: connectors created in, s', polling.createSeconds],
      ['polling: polls made / due / failed', `${polling.polls} / ${polling.due} / ${polling.failed}`],
      ['polling: server CPU per poll, ms', polling.cpuMsPerPoll],
      ['polling: server CPU share while polling', polling.serverCpuShare],
    ],
    notes: [
      'The floor writes to a file through a buffered stream without fsync; Weir acknowledges a message (PUBACK) only once it is in the append log (SQLite WAL, synchronous=NORMAL: durable across a process crash).',
      `Both subscribers are fed by the same publisher process, one after the other, on the same Mosquitto (${mqtt.broker}).`,
      `Load average at the end: ${os
        .loadavg()
        .map((x) => round(x, 2))
        .join(' / ')}.`,
    ],
    data: { mqtt, polling },
  };
  writeResult(result);
  for (const t of targets) log(`connectors: ${t.what}: ${t.value} ${t.unit ?? ''} (target ${t.target})`);
  return result;
}
