// Shared helpers of the Weir benchmarks: child processes (always cleaned up), readiness polling, RSS sampling
// through /proc, a description of the machine, and writing results (JSON + a section of bench/results/README.md).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');
export const WORK_DIR = path.join(BENCH_DIR, '.work');
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR
  ? path.resolve(process.env.BENCH_RESULTS_DIR)
  : path.join(BENCH_DIR, 'results');
/** The server entry the benchmarks spawn (`node <entry> serve`): the shipped `weir` bin dist/weir.mjs, or BENCH_WEIR_ENTRY. */
export const MAIN_JS = path.resolve(ROOT, process.env.BENCH_WEIR_ENTRY || path.join('dist', 'weir.mjs'));

export { performance, sleep };

export const log = (...args) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

// ---------------------------------------------------------------------------------------------------------------
// Child processes: every child is registered and killed when the bench exits, fails or is interrupted.

const children = new Set();

function killAllSync() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    console.error(`\n[bench] ${signal}: stopping child processes`);
    killAllSync();
    process.exit(130);
  });
}

/** `taskset -c <cpus>` prefix when pinning is possible (Linux with taskset and more than one core), else none. */
export function pinPrefix(cpus) {
  if (cpus === undefined || cpus === null) return [];
  if (os.availableParallelism() < 2) return [];
  if (!existsSync('/usr/bin/taskset') && !existsSync('/bin/taskset')) return [];
  return ['taskset', '-c', String(cpus)];
}

/**
 * Spawns a registered child. `cpus` pins it to those cores with taskset (taskset execs the program, so the
 * pid is the program's). Keeps the last 8 KiB of its output for error messages.
 */
export function startChild(command, args, { env = {}, cwd = ROOT, cpus, label = command } = {}) {
  const prefix = pinPrefix(cpus);
  const argv = [...prefix, command, ...args];
  const child = spawn(argv[0], argv.slice(1), {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-8192);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      children.delete(child);
      tail += `\n${err.message}`;
      resolve({ code: -1, signal: null });
    });
  });
  return {
    child,
    pid: child.pid,
    label,
    pinned: prefix.length > 0 ? String(cpus) : null,
    exited,
    output: () => tail,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    /** SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

/** Runs a child to completion and collects its stdout/stderr. */
export function runChild(command, args, { env = {}, cwd = ROOT, cpus, onSpawn } = {}) {
  const proc = startChild(command, args, { env, cwd, cpus });
  let stdout = '';
  let stderr = '';
  proc.child.stdout.on('data', (c) => (stdout += c.toString()));
  proc.child.stderr.on('data', (c) => (stderr += c.toString()));
  onSpawn?.(proc);
  return proc.exited.then(({ code, signal }) => ({ code, signal, stdout, stderr, pid: proc.pid }));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One GET to 127.0.0.1 on a fresh connection: { status, body } or throws on a connection error. */
export function httpGet(url, timeoutMs = 5000, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Polls `url` every `intervalMs` until it answers 200; fails when the process exits or after `timeoutMs`. */
export async function waitFor200(url, proc, { intervalMs = 10, timeoutMs = 60_000 } = {}) {
  const start = performance.now();
  for (;;) {
    if (proc && !proc.running) throw new Error(`${proc.label} exited before ${url} answered 200:\n${proc.output()}`);
    try {
      const r = await httpGet(url, 2000);
      if (r.status === 200) return performance.now() - start;
    } catch {
      // not listening yet
    }
    if (performance.now() - start > timeoutMs)
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${proc?.output() ?? ''}`);
    await sleep(intervalMs);
  }
}

/**
 * Starts `node dist/main.js serve` on a free port with a fresh data dir (unless `dataDir` exists and `fresh`
 * is false) and waits for GET /health/ready = 200. Returns the process handle plus url, dataDir and readyMs
 * (spawn → first 200, polled every 10 ms).
 */
/** Every benchmarked server is bootstrapped with this owner; `startWeir` logs in and hands out `auth` headers. */
// Rate limits stay on in the benchmarks (their cost is part of every request) but far above what one run sends:
// a closed-loop load generator with one token would otherwise be answered 429 after the first second.
export const HIGH_RATE_LIMITS = {
  WEIR_RATE_LIMIT_USER: '100000000/min',
  WEIR_RATE_LIMIT_API_KEY: '100000000/min',
  WEIR_RATE_LIMIT_IP: '100000000/min',
};

export const BENCH_ADMIN = { email: 'bench@weir.local', password: 'bench password, loopback only' };

/** POST /api/v1/auth/login → the access token. */
export async function loginWeir(url, { email, password } = BENCH_ADMIN) {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  return (await res.json()).accessToken;
}

export async function startWeir({ dataDir, env = {}, cpus, fresh = true, logLevel = 'warn', args = [] } = {}) {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run npm run build first`);
  const port = await freePort();
  if (fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const spawnedAt = performance.now();
  const proc = startChild(process.execPath, [MAIN_JS, 'serve', ...args], {
    env: {
      WEIR_DATA_DIR: dataDir,
      WEIR_PORT: String(port),
      WEIR_HOST: '127.0.0.1',
      WEIR_LOG_LEVEL: logLevel,
      WEIR_BOOTSTRAP_ADMIN_EMAIL: BENCH_ADMIN.email,
      WEIR_BOOTSTRAP_ADMIN_PASSWORD: BENCH_ADMIN.password,
      ...env,
    },
    cpus,
    label: 'weir serve',
  });
  let auth = {};
  let readyMs;
  try {
    await waitFor200(`${url}/health/ready`, proc, { intervalMs: 10 });
    readyMs = performance.now() - spawnedAt;
    if (env.WEIR_INSECURE_DISABLE_AUTH !== 'true') auth = { authorization: `Bearer ${await loginWeir(url)}` };
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return Object.assign(proc, { url, port, dataDir, readyMs, auth });
}

// ---------------------------------------------------------------------------------------------------------------
// Memory of a process, from /proc/<pid>/status (kB → MiB).

export function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    return { rssKB: kb('VmRSS'), hwmKB: kb('VmHWM') };
  } catch {
    return { rssKB: null, hwmKB: null };
  }
}

/** The pids of a process's children (Linux: /proc/<pid>/task/<tid>/children of each of its threads); [] elsewhere. */
export function childPids(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat; null where unreadable. */
export function cpuTimeMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

export const kbToMiB = (kb) => (kb === null || kb === undefined ? null : round(kb / 1024, 1));

/** Samples VmRSS of `pid` every `intervalMs`; stop() returns { peakMiB, samples, lastHwmMiB }. */
export function sampleRss(pid, intervalMs = 50) {
  let peakKB = 0;
  let samples = 0;
  let lastHwmKB = null;
  const tick = () => {
    const { rssKB, hwmKB } = procStatus(pid);
    if (rssKB !== null) {
      samples++;
      if (rssKB > peakKB) peakKB = rssKB;
      lastHwmKB = hwmKB;
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      tick();
      clearInterval(timer);
      return { peakMiB: kbToMiB(peakKB), samples, lastHwmMiB: kbToMiB(lastHwmKB) };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics and formatting.

export const round = (n, digits = 2) =>
  n === null || n === undefined || !Number.isFinite(n) ? null : Math.round(n * 10 ** digits) / 10 ** digits;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const max = (xs) => (xs.length === 0 ? null : Math.max(...xs));
export const min = (xs) => (xs.length === 0 ? null : Math.min(...xs));

export const verdict = (ok) => (ok ? 'PASS' : 'MISS');

export function formatBytes(bytes) {
  if (bytes >= 1024 ** 3) return `${round(bytes / 1024 ** 3, 2)} GiB`;
  if (bytes >= 1024 ** 2) return `${round(bytes / 1024 ** 2, 1)} MiB`;
  if (bytes >= 1024) return `${round(bytes / 1024, 1)} KiB`;
  return `${bytes} B`;
}

// ---------------------------------------------------------------------------------------------------------------
// The machine the figures come from.

let machineCache;

export async function describeMachine() {
  if (machineCache) return machineCache;
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    // not Linux
  }
  let duckdbVersion = 'unknown';
  let duckdbNodeApi = 'unknown';
  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    const reader = await c.runAndReadAll('SELECT library_version AS v, source_id AS s FROM pragma_version()');
    const row = reader.getRowObjectsJS()[0];
    duckdbVersion = `${row.v} (${row.s})`;
    c.closeSync();
    instance.closeSync();
    duckdbNodeApi = JSON.parse(
      readFileSync(path.join(ROOT, 'node_modules', '@duckdb', 'node-api', 'package.json'), 'utf8'),
    ).version;
  } catch (e) {
    duckdbVersion = `unavailable: ${e.message}`;
  }
  machineCache = {
    cpuModel,
    cores: os.availableParallelism(),
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    duckdb: duckdbVersion,
    duckdbNodeApi,
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
  };
  return machineCache;
}

/** The command line that reproduces this run. */
export function commandLine() {
  const envs = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const base =
    process.env.npm_lifecycle_event === 'bench'
      ? 'npm run bench'
      : ['node', 'bench/run.mjs', ...process.argv.slice(2)].join(' ');
  return [...envs, base].join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Results: bench/results/<name>-<YYYY-MM-DD>.json and a section appended to bench/results/README.md.

const README_HEAD = `# Weir benchmark results

Written by \`bench/run.mjs\` (\`npm run bench\`). Each run appends one section per benchmark below and writes
\`<name>-<YYYY-MM-DD>.json\` beside this file (a later run the same day replaces the JSON; the sections here
accumulate). The machine is small and shared (2 cores, noisy neighbours): compare the ratios measured side by
side within one run rather than absolute figures across runs. A target that is not met is recorded as MISS with
its figure.
`;

/**
 * result: { name, title, startedAt, durationS, machine, command, targets: [{ what, value, unit, target, pass }],
 *           figures: [[label, value]], notes: [string], data: {...} }
 */
export function writeResult(result) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const date = result.startedAt.slice(0, 10);
  const jsonPath = path.join(RESULTS_DIR, `${result.name}-${date}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);

  const readme = path.join(RESULTS_DIR, 'README.md');
  if (!existsSync(readme)) writeFileSync(readme, README_HEAD);
  const m = result.machine;
  const lines = [
    '',
    `## ${result.title} — ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Command: \`${result.command}\` (this section: \`${result.name}\`; results: \`${path.relative(ROOT, jsonPath)}\`)`,
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}; Node ${m.node}; DuckDB ${m.duckdb}, @duckdb/node-api ${m.duckdbNodeApi}; load average at start ${m.loadAvgAtStart.join(' / ')}`,
    `- Server under test: \`node ${path.relative(ROOT, MAIN_JS)} serve\`; duration of this benchmark: ${result.durationS} s`,
    '',
    '| Target | Figure | Target | Result |',
    '| --- | --- | --- | --- |',
    ...result.targets.map(
      (t) =>
        `| ${t.what} | ${t.value === null ? 'n/a' : `${t.value}${t.unit ? ` ${t.unit}` : ''}`} | ${t.target} | ${t.value === null ? 'NOT MEASURED' : verdict(t.pass)} |`,
    ),
    '',
    '| Figure | Value |',
    '| --- | --- |',
    ...result.figures.map(([k, v]) => `| ${k} | ${v} |`),
  ];
  if (result.notes?.length) lines.push('', ...result.notes.map((n) => `- ${n}`));
  appendFileSync(readme, `${lines.join('\n')}\n`);
  return jsonPath;
}

/** Creates an empty directory (removed first). */
export function freshDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Path of a Debian/pyenv python3 that can import pandas, or null. */
export function findPandasPython() {
  for (const candidate of [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    const r = spawnSync(candidate, ['-c', 'import pandas, sys; print(pandas.__version__); print(sys.executable)'], {
      encoding: 'utf8',
    });
    if (r.status === 0) {
      const [version, executable] = r.stdout.trim().split('\n');
      return { python: executable || candidate, pandasVersion: version };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Multipart uploads with a streaming body: the file is never read into memory, the length is known up front.

/**
 * POSTs multipart/form-data to `url`: text `fields`, then one part `file` from `filePath` (streamed) or
 * `content` (a Buffer). Resolves { status, body, json, totalMs (request start → response end), sentMs (request
 * start → body fully handed to the socket), bytes }.
 */
export async function postMultipart(
  url,
  {
    fields = {},
    filePath,
    content,
    filename,
    contentType = 'text/csv',
    agent = false,
    timeoutMs = 30 * 60_000,
    headers = {},
  },
) {
  const boundary = `----weir-bench-${randomBytes(12).toString('hex')}`;
  let pre = '';
  for (const [k, v] of Object.entries(fields))
    pre += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  const name = filename ?? (filePath ? path.basename(filePath) : 'upload.csv');
  pre += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${contentType}\r\n\r\n`;
  const head = Buffer.from(pre, 'utf8');
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  const fileBytes = filePath ? statSync(filePath).size : content.length;
  const length = head.length + fileBytes + tail.length;

  const start = performance.now();
  let sentMs = null;
  const req = http.request(url, {
    method: 'POST',
    agent,
    headers: {
      ...headers,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(length),
    },
  });
  const response = new Promise((resolve, reject) => {
    req.once('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.once('error', reject);
  });
  const timer = setTimeout(() => req.destroy(new Error(`upload timed out after ${timeoutMs} ms`)), timeoutMs);
  async function* body() {
    yield head;
    if (filePath) yield* createReadStream(filePath, { highWaterMark: 1024 * 1024 });
    else yield content;
    yield tail;
  }
  const sending = pipeline(Readable.from(body(), { objectMode: false }), req).then(
    () => {
      sentMs = performance.now() - start;
    },
    () => {
      // The server may answer (e.g. 413) and close before the body is sent: the response tells.
    },
  );
  try {
    const res = await response;
    const totalMs = performance.now() - start;
    await Promise.race([sending, sleep(1000)]);
    let json = null;
    try {
      json = JSON.parse(res.body);
    } catch {
      // not JSON
    }
    return { ...res, json, totalMs, sentMs, bytes: length };
  } finally {
    clearTimeout(timer);
  }
}
