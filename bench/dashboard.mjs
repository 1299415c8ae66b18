// The dashboard's budgets (issue 15), measured in a real browser: the browser suite's @perf tests (Debian's
// Chromium driving `weir serve` on loopback) write what they measure to test-results/browser/dashboard-perf.json;
// this benchmark runs them, reads the figures and the build's first-load report, and records them.
//   - first-load JavaScript, gzipped (the build's own count of what index.html loads): ≤ 200 kB
//   - the datasets page usable (its list rendered) after a page load, on loopback: < 1 s (median of five loads)
//   - the preview grid scrolling through 100,000 rows: no long task over 50 ms
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT, commandLine, describeMachine, log, performance, round, runChild, writeResult } from './lib.mjs';

const PERF_FILE = path.join(ROOT, 'test-results', 'browser', 'dashboard-perf.json');
const READY_TARGET_MS = 1000;
const LONG_TASK_TARGET_MS = 50;

export async function runDashboard() {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const machine = await describeMachine();
  rmSync(PERF_FILE, { force: true });
  log('dashboard: running the browser suite @perf tests (Chromium)');
  const run = await runChild(path.join(ROOT, 'node_modules', '.bin', 'playwright'), [
    'test',
    '-c',
    'web/playwright.config.ts',
    '--grep',
    '@perf',
    '--reporter',
    'list',
  ]);
  if (run.code !== 0) throw new Error(`the @perf browser tests failed:\n${run.stdout ?? ''}${run.stderr ?? ''}`);
  const perf = JSON.parse(readFileSync(PERF_FILE, 'utf8'));
  const build = JSON.parse(readFileSync(path.join(ROOT, 'dist', 'web', 'build-report.json'), 'utf8'));
  const firstLoadKb = round(build.firstLoadGzipBytes / 1000, 1);
  const ready = perf.datasetsPageReadyMs ?? null;
  const longTask = perf.previewScrollMaxLongTaskMs ?? null;
  const result = {
    name: 'dashboard',
    title: 'Dashboard: first load, datasets page, preview scrolling',
    startedAt,
    durationS: round((performance.now() - started) / 1000, 1),
    machine,
    command: commandLine(),
    targets: [
      {
        what: 'First-load JavaScript (gzip)',
        value: firstLoadKb,
        unit: 'kB',
        target: '≤ 200 kB',
        pass: build.firstLoadGzipBytes <= build.budgetBytes,
      },
      {
        what: 'Datasets page usable after a page load (loopback), median of 5',
        value: ready === null ? null : round(ready, 0),
        unit: 'ms',
        target: `< ${READY_TARGET_MS} ms`,
        pass: ready !== null && ready < READY_TARGET_MS,
      },
      {
        what: 'Longest task while scrolling 100,000 preview rows',
        value: longTask === null ? null : round(longTask, 0),
        unit: 'ms',
        target: `< ${LONG_TASK_TARGET_MS} ms`,
        pass: longTask !== null && longTask < LONG_TASK_TARGET_MS,
      },
    ],
    figures: [
      ['First-load files', build.firstLoad.join(', ')],
      ['Lazy chunks', String(build.lazyChunks)],
      ...Object.entries(perf).map(([k, v]) => [k, typeof v === 'number' ? String(round(v, 1)) : JSON.stringify(v)]),
    ],
    notes: [
      'Measured by the browser suite (web/e2e, tests tagged @perf) in headless Debian Chromium against `weir serve` from dist/ on loopback; the same tests run in `npm test`, where they record but do not judge the figures (a shared CI machine is too noisy for a timing bound).',
      'The longest task is the largest PerformanceLongTaskTiming duration (Chromium reports tasks over 50 ms only; none reported counts as 0).',
    ],
    data: { perf, build },
  };
  writeResult(result);
  log(`dashboard: first load ${firstLoadKb} kB gzip; datasets page ${ready} ms; longest scroll task ${longTask} ms`);
  return result;
}
