// Start-up benchmark: spawn `node dist/main.js serve` with a fresh data dir, time spawn → first 200 of
// GET /health/ready (polled every 10 ms), then RSS after 2 s idle. BENCH_STARTUP_RUNS times (default 5).
import path from 'node:path';
import {
  WORK_DIR,
  commandLine,
  describeMachine,
  kbToMiB,
  log,
  max,
  median,
  performance,
  procStatus,
  round,
  sleep,
  startWeir,
  writeResult,
} from './lib.mjs';
import { rmSync } from 'node:fs';

const READY_TARGET_MS = 1000;
// 150 MB read strictly as 150e6 bytes (143.1 MiB); figures are in MiB.
const RSS_TARGET_MIB = round(150e6 / 1024 ** 2, 1);

export async function runStartup() {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const runs = Math.max(1, Number(process.env.BENCH_STARTUP_RUNS ?? 5));
  const machine = await describeMachine();
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const dataDir = path.join(WORK_DIR, `startup-data-${i}`);
    const server = await startWeir({ dataDir, fresh: true });
    try {
      await sleep(2000);
      const s = procStatus(server.pid);
      samples.push({ readyMs: round(server.readyMs, 1), idleRssMiB: kbToMiB(s.rssKB), vmHwmMiB: kbToMiB(s.hwmKB) });
      log(
        `startup run ${i + 1}/${runs}: ready after ${round(server.readyMs, 0)} ms, RSS after 2 s idle ${kbToMiB(s.rssKB)} MiB (VmHWM ${kbToMiB(s.hwmKB)} MiB)`,
      );
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const ready = samples.map((s) => s.readyMs);
  const rss = samples.map((s) => s.idleRssMiB);
  const readyMedian = round(median(ready), 1);
  const readyMax = round(max(ready), 1);
  const rssMedian = round(median(rss), 1);
  const rssMax = round(max(rss), 1);
  const result = {
    name: 'startup',
    title: 'Start-up (spawn → /health/ready 200, idle RSS)',
    startedAt,
    durationS: round((performance.now() - t0) / 1000, 1),
    command: commandLine(),
    machine,
    targets: [
      {
        what: `Spawn → first 200 of /health/ready, median of ${runs}`,
        value: readyMedian,
        unit: 'ms',
        target: `< ${READY_TARGET_MS} ms`,
        pass: readyMedian < READY_TARGET_MS,
      },
      {
        what: `Spawn → first 200 of /health/ready, max of ${runs}`,
        value: readyMax,
        unit: 'ms',
        target: `< ${READY_TARGET_MS} ms`,
        pass: readyMax < READY_TARGET_MS,
      },
      {
        what: 'RSS after 2 s idle, median',
        value: rssMedian,
        unit: 'MiB',
        target: `< 150 MB (${RSS_TARGET_MIB} MiB)`,
        pass: rssMedian < RSS_TARGET_MIB,
      },
      {
        what: 'RSS after 2 s idle, max',
        value: rssMax,
        unit: 'MiB',
        target: `< 150 MB (${RSS_TARGET_MIB} MiB)`,
        pass: rssMax < RSS_TARGET_MIB,
      },
    ],
    figures: [
      ['Ready times (each run)', ready.map((x) => `${round(x, 0)} ms`).join(', ')],
      ['Idle RSS (each run)', rss.map((x) => `${x} MiB`).join(', ')],
      ['VmHWM during start-up (each run)', samples.map((s) => `${s.vmHwmMiB} MiB`).join(', ')],
    ],
    notes: [
      'Each run: a fresh data dir (SQLite migrations run, scratch dir created, DuckDB opened), WEIR_LOG_LEVEL=warn; the time includes Node start-up and module loading. Readiness is polled every 10 ms with a new connection per poll.',
      'RSS = VmRSS from /proc/<pid>/status 2 s after readiness; the 150 MB target is read strictly as 150·10⁶ bytes (143.1 MiB), like the 1 GB ingest target (10⁹ bytes).',
    ],
    data: { runs: samples },
  };
  writeResult(result);
  log(
    `startup: ready median ${readyMedian} ms / max ${readyMax} ms; idle RSS median ${rssMedian} MiB / max ${rssMax} MiB`,
  );
  return result;
}
