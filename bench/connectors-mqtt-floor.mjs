// The floor of the MQTT ingest benchmark: a bare `mqtt` subscriber (QoS 1) appending every message to a file,
// against the same publisher the Weir side gets. Sustained messages/s is measured from the first message received
// to the last, so connecting and subscribing are not counted.
//
// The publisher is a child process of this file (`--role publisher`): it publishes `messages` QoS 1 messages as fast
// as the broker acknowledges them, pipelined (at most PUBLISH_WINDOW unacknowledged), on MQTT 3.1.1, which has no
// Receive Maximum to respect (Mosquitto advertises 20 to v5 clients). It writes packets built by mqtt-packet (the
// codec under MQTT.js) straight to the socket, batched per refill: MQTT.js's own publish path tops out near 20,000
// messages/s on this class of machine, below the rate the subscribers are measured at. Each payload is one JSON reading,
// {"id":<n>,"ts":<epoch ms at publish>,"v":<number>}, so the subscriber also reports publish-to-receive latency.
// The bare subscriber writes through a buffered fs.WriteStream without fsync: an upper bound on what any subscriber
// that stores the messages can do on this machine, not a durability-equivalent of Weir's acknowledged appends.
//
// Use: `const floor = await mqttFloor({ url, messages })` (bench/run.mjs connectors), or
// `node bench/connectors-mqtt-floor.mjs [messages]` alone, which prints the result as JSON.
// `publishMessages({ url, topic, messages })` is exported for the Weir side, so both are fed by the same publisher.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { connect } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { WORK_DIR, log, performance, round } from './lib.mjs';

const THIS_FILE = fileURLToPath(import.meta.url);
const PUBLISH_WINDOW = 5_000;
/** No message for this long means the rest is not coming (lost or stuck): the run ends and says how many arrived. */
const STALL_MS = 15_000;

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The payload of message `id`, the same bytes for the floor and the Weir side. */
export function readingPayload(id) {
  return JSON.stringify({ id, ts: Date.now(), v: (id % 1000) / 10 });
}

// ---------------------------------------------------------------------------------------------------------------
// Child role: publish. Parent → argv JSON {url, topic, messages}; child → {published, seconds} on IPC, then exits.

async function runPublisher({ url, topic, messages }) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port || 1883), hostname);
  socket.setNoDelay(true);
  const opts = { protocolVersion: 4 };
  const parser = mqttPacket.parser(opts);
  let next = 0;
  let acked = 0;
  let started = 0;
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`broker closed the connection after ${acked} acknowledged`)));
    // One write per refill: a packet per write costs a syscall each and is what made MQTT.js the bottleneck.
    const refill = () => {
      const packets = [];
      while (next < messages && next - acked < PUBLISH_WINDOW) {
        next += 1;
        // Packet ids are per connection and recycled; the window keeps fewer than 65,535 of them in flight.
        const messageId = ((next - 1) % 65535) + 1;
        packets.push(
          mqttPacket.generate({ cmd: 'publish', topic, qos: 1, messageId, payload: readingPayload(next) }, opts),
        );
      }
      if (packets.length > 0) socket.write(Buffer.concat(packets));
    };
    parser.on('error', reject);
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode !== 0) return reject(new Error(`broker refused the publisher: ${packet.returnCode}`));
        started = performance.now();
        refill();
      } else if (packet.cmd === 'puback') {
        acked += 1;
        if (acked === messages) resolve();
        else if (next - acked <= PUBLISH_WINDOW / 2) refill();
      }
    });
    socket.on('data', (data) => parser.parse(data));
    const clientId = `bench-pub-${randomBytes(4).toString('hex')}`;
    socket.write(
      mqttPacket.generate(
        { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 },
        opts,
      ),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  socket.removeAllListeners('close');
  socket.end(mqttPacket.generate({ cmd: 'disconnect' }, opts));
  return { published: messages, seconds: round(seconds, 3) };
}

/** Publishes `messages` readings to `topic` from a child process; resolves with {published, seconds}. */
export function publishMessages({ url, topic, messages }) {
  return new Promise((resolve, reject) => {
    const child = fork(THIS_FILE, ['--role', 'publisher', JSON.stringify({ url, topic, messages })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result = null;
    child.on('message', (m) => (result = m));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result !== null && code === 0) resolve(result);
      else reject(new Error(`MQTT publisher exited with ${code ?? signal} before finishing`));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The floor: a bare subscriber appending to a file.

/**
 * @param {{ url?: string, messages?: number, dir?: string }} options
 * @returns {Promise<{ messages: number, received: number, messagesPerSecond: number | null, seconds: number | null,
 *   latencyMs: { p50: number | null, p99: number | null, max: number | null }, fileBytes: number,
 *   publisher: { published: number, seconds: number, messagesPerSecond: number } }>}
 */
export async function mqttFloor({ url = 'mqtt://127.0.0.1:1883', messages = 100_000, dir = WORK_DIR } = {}) {
  const runId = randomBytes(6).toString('hex');
  const topic = `bench/mqtt-floor/${runId}/readings`;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `mqtt-floor-${runId}.ndjson`);
  const out = createWriteStream(file);

  const subscriber = connect(url, {
    protocolVersion: 5,
    clean: true,
    clientId: `bench-floor-${runId}`,
    properties: { receiveMaximum: 65535 },
  });
  await new Promise((resolve, reject) => {
    subscriber.once('connect', resolve);
    subscriber.once('error', reject);
  });
  await subscriber.subscribeAsync(topic, { qos: 1 });

  const latencies = new Float64Array(messages);
  let received = 0;
  let first = 0;
  let last = 0;
  const done = new Promise((resolve) => {
    let stallTimer = setTimeout(resolve, STALL_MS * 4); // connecting the publisher may take a while on a busy box
    subscriber.on('message', (_topic, payload) => {
      const now = Date.now();
      const at = performance.now();
      if (received === 0) first = at;
      last = at;
      out.write(payload);
      out.write('\n');
      const ts = JSON.parse(payload.toString()).ts;
      if (received < messages) latencies[received] = now - ts;
      received += 1;
      clearTimeout(stallTimer);
      if (received >= messages) resolve();
      else stallTimer = setTimeout(resolve, STALL_MS);
    });
  });

  log(`mqtt floor: publishing ${messages} QoS 1 messages to ${topic}`);
  const [publisher] = await Promise.all([publishMessages({ url, topic, messages }), done]);
  await subscriber.endAsync();
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  const fileBytes = statSync(file).size;
  rmSync(file, { force: true });

  const sorted = Array.from(latencies.subarray(0, Math.min(received, messages))).sort((a, b) => a - b);
  const seconds = received > 1 ? (last - first) / 1000 : null;
  const result = {
    messages,
    received,
    messagesPerSecond: seconds ? round((received - 1) / seconds, 0) : null,
    seconds: seconds === null ? null : round(seconds, 3),
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null },
    fileBytes,
    publisher: { ...publisher, messagesPerSecond: round(publisher.published / publisher.seconds, 0) },
  };
  log(
    `mqtt floor: ${received}/${messages} received, ${result.messagesPerSecond} msg/s, ` +
      `p99 publish-to-receive ${result.latencyMs.p99} ms`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------------------------

const roleAt = process.argv.indexOf('--role');
if (roleAt !== -1 && process.argv[roleAt + 1] === 'publisher') {
  const result = await runPublisher(JSON.parse(process.argv[roleAt + 2]));
  process.send(result, () => process.exit(0));
} else if (process.argv[1] === THIS_FILE) {
  const messages = Number(process.argv[2] ?? 100_000);
  console.log(JSON.stringify(await mqttFloor({ url: process.env.BENCH_MQTT_URL, messages }), null, 2));
}
