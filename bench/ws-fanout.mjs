// WebSocket fan-out benchmark: 10,000 concurrent WebSocket clients subscribed to one topic on one `weir serve`,
// one event published per round, delivery latency (publish → message handled by each client) and the server's
// RSS; against a bare `ws` server broadcasting the same message to 10,000 clients in the same run.
//
// How an event is published: through Redis, exactly as a worker in cluster mode publishes (Weir runs with
// WEIR_REDIS_URL and a random WEIR_REDIS_PREFIX; the bench PUBLISHes the bus's wire format to the topic's
// channel). Nothing bench-only is added to Weir. The bare server subscribes to a Redis channel too and relays
// every message to all its clients, so both sides pay the same Redis hop and the ratio isolates the hub.
//
// Clients run in BENCH_WS_CLIENT_PROCS (default 2) child processes of this file (`--role clients`) so that
// both cores parse messages; the bare server is a child too (`--role bare`). Needs Redis at BENCH_REDIS_URL
// (default redis://127.0.0.1:6379) and `ulimit -n` above the client count + 1024 (each side holds one file
// descriptor per connection; raise it with `ulimit -n 65536` or in /etc/security/limits.conf).
// Environment: BENCH_WS_CLIENTS (10000), BENCH_WS_ROUNDS (20), BENCH_WS_CLIENT_PROCS (2), BENCH_WS_PAYLOAD_BYTES (200).
import { fork, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket, { WebSocketServer } from 'ws';
import {
  WORK_DIR,
  commandLine,
  describeMachine,
  freePort,
  kbToMiB,
  log,
  median,
  performance,
  procStatus,
  round,
  sampleRss,
  sleep,
  startChild,
  startWeir,
  writeResult,
} from './lib.mjs';

const THIS_FILE = fileURLToPath(import.meta.url);
const P99_TARGET_MS = 250;
const RSS_TARGET_MB = 600;
const RATIO_TARGET = 1.5;
const TOPIC = 'workspace:ws_default';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
const nowMs = () => performance.timeOrigin + performance.now();

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---------------------------------------------------------------------------------------------------------------
// Child role: N WebSocket clients. Parent → {cmd:'connect', url, count, headers, subscribe}; child → {ready},
// then per round, once every client got it: {round, latencies}.

async function runClients() {
  const sockets = [];
  const rounds = new Map();
  let expected = 0;
  const onEvent = (data) => {
    const text = data.toString();
    const msg = JSON.parse(text);
    // Weir sends {type:'event', topic, event, data, ts}; the bare server relays the bus wire message {type, data, ts}.
    const payload = msg.data;
    if (!payload || typeof payload.round !== 'number') return;
    const latency = nowMs() - payload.sentAt;
    let r = rounds.get(payload.round);
    if (!r) rounds.set(payload.round, (r = []));
    r.push(latency);
    if (r.length === expected) {
      process.send({ type: 'round', round: payload.round, latencies: r });
      rounds.delete(payload.round);
    }
  };

  const open = (url, headers, subscribe) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
      ws.once('open', () => {
        if (!subscribe) {
          ws.on('message', onEvent);
          return resolve(ws);
        }
        ws.send(JSON.stringify({ type: 'subscribe', topic: subscribe, id: 's' }));
        ws.once('message', (data) => {
          const answer = JSON.parse(data.toString());
          if (answer.type !== 'subscribed') return reject(new Error(`subscribe answered ${data.toString()}`));
          ws.on('message', onEvent);
          resolve(ws);
        });
      });
    });

  process.on('message', async (m) => {
    if (m.cmd === 'connect') {
      expected = m.count;
      let next = 0;
      let failed = 0;
      let firstError = null;
      // Handshakes in flight at once: enough to be quick, few enough not to trip the listen backlog.
      const worker = async () => {
        while (next < m.count) {
          next++;
          try {
            sockets.push(await open(m.url, m.headers, m.subscribe));
          } catch (e) {
            failed++;
            firstError ??= e.message;
          }
        }
      };
      await Promise.all(Array.from({ length: 64 }, worker));
      process.send({ type: 'ready', opened: sockets.length, failed, firstError });
    } else if (m.cmd === 'close') {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Child role: the bare `ws` server. argv: port, redis url, channel. Relays every message of the channel to all.

async function runBare(port, redisUrl, channel) {
  const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
  const listening = new Promise((resolve) => wss.once('listening', resolve));
  const sub = new Redis(redisUrl);
  sub.on('message', (_channel, message) => {
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
  });
  await Promise.all([sub.subscribe(channel), listening]);
  console.log('listening');
}

// ---------------------------------------------------------------------------------------------------------------
// The measurement, the same for both servers.

async function measure({
  label,
  url,
  headers,
  subscribe,
  pid,
  channel,
  redis,
  clients,
  rounds,
  clientProcs,
  payloadBytes,
}) {
  const idleKB = procStatus(pid).rssKB;
  const children = Array.from({ length: clientProcs }, () =>
    fork(THIS_FILE, ['--role', 'clients'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const exits = children.map((c) => new Promise((resolve) => c.once('exit', resolve)));
  const pending = new Map();
  const latencies = [];
  const perRound = [];
  let readyCount = 0;
  const readyWaiters = [];
  const readyErrors = [];
  for (const child of children) {
    child.on('message', (m) => {
      if (m.type === 'ready') {
        readyCount++;
        if (m.failed > 0) readyErrors.push(`${m.failed} failed (${m.firstError})`);
        for (const w of readyWaiters.splice(0)) w();
      } else if (m.type === 'round') {
        const r = pending.get(m.round);
        if (r) {
          r.latencies.push(...m.latencies);
          r.reports++;
          if (r.reports === clientProcs) r.resolve();
        }
      }
    });
  }
  try {
    const connectStarted = performance.now();
    const share = Math.ceil(clients / clientProcs);
    children.forEach((c, i) =>
      c.send({ cmd: 'connect', url, headers, subscribe, count: Math.min(share, clients - i * share) }),
    );
    const deadline = Date.now() + 300_000;
    while (readyCount < clientProcs) {
      if (Date.now() > deadline) throw new Error(`${label}: clients not connected within 300 s`);
      await new Promise((resolve) => {
        readyWaiters.push(resolve);
        setTimeout(resolve, 1000);
      });
    }
    if (readyErrors.length > 0) throw new Error(`${label}: connections failed: ${readyErrors.join('; ')}`);
    const connectS = (performance.now() - connectStarted) / 1000;
    await sleep(1000);
    const connectedKB = procStatus(pid).rssKB;
    log(
      `  ${label}: ${clients} clients connected${subscribe ? ' and subscribed' : ''} in ${round(connectS, 1)} s; server RSS ${kbToMiB(connectedKB)} MiB`,
    );

    const rss = sampleRss(pid, 20);
    const pad = 'x'.repeat(Math.max(0, payloadBytes - 60));
    let missing = 0;
    // Round 0 warms up (JIT, buffers) and is not counted.
    for (let round_ = 0; round_ <= rounds; round_++) {
      const done = new Promise((resolve) => pending.set(round_, { latencies: [], reports: 0, resolve }));
      const sentAt = nowMs();
      await redis.publish(
        channel,
        JSON.stringify({ type: 'bench.tick', data: { round: round_, sentAt, pad }, ts: new Date().toISOString() }),
      );
      const timedOut = await Promise.race([done.then(() => false), sleep(15_000).then(() => true)]);
      const got = pending.get(round_).latencies;
      pending.delete(round_);
      if (timedOut) missing += clients - got.length;
      if (round_ > 0) {
        latencies.push(...got);
        const sorted = [...got].sort((a, b) => a - b);
        perRound.push({
          p50: round(percentile(sorted, 50), 1),
          p99: round(percentile(sorted, 99), 1),
          max: round(sorted[sorted.length - 1], 1),
          delivered: got.length,
        });
      }
      await sleep(250);
    }
    const peak = rss.stop();
    latencies.sort((a, b) => a - b);
    return {
      connectS: round(connectS, 1),
      idleMiB: kbToMiB(idleKB),
      connectedMiB: kbToMiB(connectedKB),
      peakMiB: Math.max(peak.peakMiB ?? 0, kbToMiB(connectedKB) ?? 0),
      p50: round(percentile(latencies, 50), 1),
      p99: round(percentile(latencies, 99), 1),
      max: round(latencies[latencies.length - 1], 1),
      delivered: latencies.length,
      expected: clients * rounds,
      missing,
      perRound,
    };
  } finally {
    for (const c of children) if (c.connected) c.send({ cmd: 'close' });
    await Promise.race([Promise.all(exits), sleep(10_000)]);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }
}

function openFileLimit() {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const v = r.stdout.trim();
  return v === 'unlimited' ? Infinity : Number(v);
}

export async function runWsFanout() {
  const clients = Number(process.env.BENCH_WS_CLIENTS ?? 10_000);
  const rounds = Number(process.env.BENCH_WS_ROUNDS ?? 20);
  const clientProcs = Number(process.env.BENCH_WS_CLIENT_PROCS ?? 2);
  const payloadBytes = Number(process.env.BENCH_WS_PAYLOAD_BYTES ?? 200);
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const limit = openFileLimit();
  if (limit < clients + 1024)
    throw new Error(
      `ulimit -n is ${limit}: raise it above ${clients + 1024} (e.g. \`ulimit -n 65536\`) for ${clients} connections`,
    );

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (e) {
    throw new Error(`Redis at ${redisUrl} is required (events are published through it): ${e.message}`);
  }
  const machine = await describeMachine();
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const redisPrefix = `weir-bench-${randomBytes(4).toString('hex')}`;
  // The bus's channels are `<WEIR_REDIS_PREFIX>:events:<topic>`.
  const prefix = `${redisPrefix}:events:`;
  const dataDir = path.join(WORK_DIR, 'ws-fanout');
  const common = { redis, clients, rounds, clientProcs, payloadBytes };

  let weir;
  let bare;
  try {
    log(`Weir: ${clients} clients subscribed to ${TOPIC}, ${rounds} rounds of one ${payloadBytes}-byte event`);
    weir = await startWeir({
      dataDir,
      // Rate limits count every handshake from the one loopback address; 10,000 in a minute is the point here. So does
      // the connection cap per user: every client is the one benchmark user.
      env: {
        WEIR_REDIS_URL: redisUrl,
        WEIR_REDIS_PREFIX: redisPrefix,
        WEIR_JOB_QUEUE_PREFIX: redisPrefix,
        WEIR_RATE_LIMIT_IP: 'off',
        WEIR_RATE_LIMIT_USER: 'off',
        WEIR_WS_MAX_CONNECTIONS_PER_USER: String(clients + 100),
      },
    });
    const wsUrl = `${weir.url.replace(/^http/, 'ws')}/api/v1/ws`;
    const weirRun = await measure({
      ...common,
      label: 'weir',
      url: wsUrl,
      headers: weir.auth,
      subscribe: TOPIC,
      pid: weir.pid,
      channel: `${prefix}${TOPIC}`,
    });
    log(`  weir: p50 ${weirRun.p50} ms, p99 ${weirRun.p99} ms, max ${weirRun.max} ms; RSS peak ${weirRun.peakMiB} MiB`);
    await weir.stop();
    weir = null;

    log(`bare ws: ${clients} clients, same events`);
    const port = await freePort();
    const channel = `${prefix}bare`;
    bare = startChild(process.execPath, [THIS_FILE, '--role', 'bare', String(port), redisUrl, channel], {
      label: 'bare ws server',
    });
    const deadline = Date.now() + 10_000;
    while (!bare.output().includes('listening')) {
      if (!bare.running || Date.now() > deadline) throw new Error(`bare ws server did not start: ${bare.output()}`);
      await sleep(20);
    }
    const bareRun = await measure({
      ...common,
      label: 'bare',
      url: `ws://127.0.0.1:${port}`,
      headers: {},
      subscribe: null,
      pid: bare.pid,
      channel,
    });
    log(`  bare: p50 ${bareRun.p50} ms, p99 ${bareRun.p99} ms, max ${bareRun.max} ms; RSS peak ${bareRun.peakMiB} MiB`);

    const ratio = round(weirRun.p99 / bareRun.p99, 2);
    const result = {
      name: 'ws-fanout',
      title: `WebSocket fan-out (${clients} subscribers, one event per round)`,
      startedAt,
      durationS: round((performance.now() - t0) / 1000, 1),
      command: commandLine(),
      machine,
      targets: [
        {
          what: `Weir p99 delivery latency, ${clients} subscribers`,
          value: weirRun.p99,
          unit: 'ms',
          target: `< ${P99_TARGET_MS} ms`,
          pass: weirRun.p99 < P99_TARGET_MS && weirRun.missing === 0,
        },
        {
          what: `Weir server peak RSS with ${clients} subscribers`,
          value: weirRun.peakMiB,
          unit: 'MiB',
          target: `< ${RSS_TARGET_MB} MB (${round((RSS_TARGET_MB * 1e6) / 1024 ** 2, 1)} MiB)`,
          pass: weirRun.peakMiB < (RSS_TARGET_MB * 1e6) / 1024 ** 2,
        },
        {
          what: 'Weir p99 ÷ bare ws p99',
          value: ratio,
          unit: '×',
          target: `≤ ${RATIO_TARGET}×`,
          pass: ratio <= RATIO_TARGET,
        },
      ],
      figures: [
        [
          'Weir latency p50 / p99 / max',
          `${weirRun.p50} / ${weirRun.p99} / ${weirRun.max} ms (${weirRun.delivered} of ${weirRun.expected} deliveries)`,
        ],
        [
          'Bare ws latency p50 / p99 / max',
          `${bareRun.p50} / ${bareRun.p99} / ${bareRun.max} ms (${bareRun.delivered} of ${bareRun.expected} deliveries)`,
        ],
        [
          'Median of the per-round p99s (Weir / bare)',
          `${median(weirRun.perRound.map((r) => r.p99))} / ${median(bareRun.perRound.map((r) => r.p99))} ms`,
        ],
        ['Weir p99 per round', weirRun.perRound.map((r) => r.p99).join(', ')],
        ['Bare p99 per round', bareRun.perRound.map((r) => r.p99).join(', ')],
        ['Connect (+ subscribe for Weir) of all clients', `Weir ${weirRun.connectS} s, bare ${bareRun.connectS} s`],
        ['Weir RSS idle / connected / peak', `${weirRun.idleMiB} / ${weirRun.connectedMiB} / ${weirRun.peakMiB} MiB`],
        [
          'Bare ws RSS idle / connected / peak',
          `${bareRun.idleMiB} / ${bareRun.connectedMiB} / ${bareRun.peakMiB} MiB`,
        ],
      ],
      notes: [
        `Latency = client wall clock when its message handler runs − publisher wall clock just before PUBLISH (performance.timeOrigin + now(), one machine). ${rounds} rounds 250 ms apart after one warm-up round; the percentiles are over all ${clients} × ${rounds} deliveries.`,
        `Publishing: Weir runs in cluster mode (WEIR_REDIS_URL) and the bench PUBLISHes the bus's wire message to the topic's channel, as a worker would; the bare server relays a Redis channel's messages with \`for (c of wss.clients) c.send(message)\`. Both pay the same Redis hop.`,
        `Weir: every client authenticated with a JWT in the Authorization header and subscribed to ${TOPIC} (access checked). Weir encodes each event once and writes the same Buffer to every socket; ws, both sides without per-message deflate.`,
        `Clients: ${clientProcs} child processes with ${Math.ceil(clients / clientProcs)} ws clients each, unpinned: the server and the clients share the machine's ${machine.cores} cores, so the figures include client-side parsing time of every message (the last client of a process handles its message after all the others).`,
        `The machine is shared: the load average at the start was ${machine.loadAvgAtStart.join(' / ')}; compare Weir with the bare server of the same run rather than with the absolute target.`,
        `Rate limits (per IP, per user) were turned off and the connection cap per user raised above the client count for the Weir run: every handshake comes from 127.0.0.1 with one token. ulimit -n was ${limit}.`,
      ],
      data: { clients, rounds, clientProcs, payloadBytes, weir: weirRun, bare: bareRun },
    };
    writeResult(result);
    return result;
  } finally {
    if (weir) await weir.stop();
    if (bare) await bare.stop();
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Run as a child role (`node bench/ws-fanout.mjs --role clients|bare …`).
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url && process.argv[2] === '--role') {
  const role = process.argv[3];
  if (role === 'clients') await runClients();
  else if (role === 'bare') await runBare(Number(process.argv[4]), process.argv[5], process.argv[6]);
  else {
    console.error(`unknown role ${role}`);
    process.exit(2);
  }
}
