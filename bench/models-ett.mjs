// Forecasting accuracy of Weir's models on ETTh2 and ETTm2 (issue 16), the LTSF protocol exactly:
// univariate OT, lookback 336, H = 96/192/336/720, explicit splits (train rows [0, 8640·k), validation targets
// [8640·k, 11520·k), test targets [11520·k, 14400·k), k = 1 hourly, 4 for 15-min), StandardScaler fitted on the
// training rows, test MSE/MAE on the normalized scale over every test window (stride 1, drop_last = False).
// Weir's model per cell is what `trainForecast` chooses with algorithm 'auto' (its default rule, one standard error)
// on cross-validation over train + validation; the test part is only measured. Every baseline and candidate is reported beside it.
//
// Needs the build (`npm run build`, or `npx tsc -p tsconfig.build.json`): imports dist/models/ml/forecast/train.js.
// Environment: BENCH_ETT_DIR (default ../shared/data/ett from the repository root), BENCH_ETT_FILES (ETTh2,ETTm2),
// BENCH_ETT_HORIZONS (96,192,336,720), BENCH_ETT_ALGORITHM (auto).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, commandLine, describeMachine, log, performance, round, writeResult } from './lib.mjs';

/** Best published univariate test MSE (LTSF-Linear paper, best of Linear/NLinear/DLinear, lookback 336). */
const PUBLISHED = {
  ETTh2: { 96: 0.129, 192: 0.169, 336: 0.194, 720: 0.225 },
  ETTm2: { 96: 0.063, 192: 0.09, 336: 0.117, 720: 0.17 },
};
const LOOKBACK = 336;
const TRAIN_TIME_TARGET_S = 30;

function loadEtt(dir, file) {
  const text = readFileSync(path.join(dir, `${file}.csv`), 'utf8');
  const lines = text.trim().split('\n');
  const header = lines[0].split(',');
  const dateIdx = header.indexOf('date');
  const otIdx = header.indexOf('OT');
  const ot = new Float64Array(lines.length - 1);
  const times = new Float64Array(lines.length - 1);
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    ot[i - 1] = Number(cells[otIdx]);
    // Local wall-clock times without a zone: read as UTC so hour of day and day of week are the file's own.
    times[i - 1] = Date.parse(`${cells[dateIdx].replace(' ', 'T')}Z`);
  }
  return { ot, times };
}

export async function runModelsEtt() {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = await describeMachine();
  const trainModule = path.join(ROOT, 'dist', 'models', 'ml', 'forecast', 'train.js');
  if (!existsSync(trainModule)) throw new Error(`${trainModule} is missing: run npm run build first`);
  const { trainForecast } = await import(trainModule);
  const dir = process.env.BENCH_ETT_DIR || path.resolve(ROOT, '..', 'shared', 'data', 'ett');
  const files = (process.env.BENCH_ETT_FILES || 'ETTh2,ETTm2').split(',');
  const horizons = (process.env.BENCH_ETT_HORIZONS || '96,192,336,720').split(',').map(Number);
  const algorithm = process.env.BENCH_ETT_ALGORITHM || 'auto';

  const targets = [];
  const figures = [];
  const cells = [];
  for (const file of files) {
    const k = file.startsWith('ETTm') ? 4 : 1;
    const { ot, times } = loadEtt(dir, file);
    const end = 14_400 * k; // the last 4 months are never used by the protocol
    const series = ot.slice(0, end);
    const stepMs = 3_600_000 / k;
    for (const horizon of horizons) {
      const tCell = performance.now();
      const { report } = await trainForecast(
        {
          series: [series],
          seriesNames: ['OT'],
          times: times.slice(0, end),
          stepMs,
          horizon,
          lookback: LOOKBACK,
          split: { trainEnd: 8_640 * k, validEnd: 11_520 * k },
          algorithm,
          scaling: 'standard',
        },
        { seed: 1 },
      );
      const cellS = (performance.now() - tCell) / 1000;
      const chosen = report.metrics[report.algorithm].normalized;
      const published = PUBLISHED[file]?.[horizon] ?? null;
      const ratio = published ? round(chosen.mse / published, 3) : null;
      const algorithms = report.leaderboard.map((l) => ({
        algorithm: l.algorithm,
        status: l.status,
        params: l.params,
        validationMse: l.validation.mse === null ? null : round(l.validation.mse, 4),
        trainS: round(l.trainMs / 1000, 2),
        testMse: report.metrics[l.algorithm] ? round(report.metrics[l.algorithm].normalized.mse, 4) : null,
        testMae: report.metrics[l.algorithm] ? round(report.metrics[l.algorithm].normalized.mae, 4) : null,
        skill: report.metrics[l.algorithm] ? round(report.metrics[l.algorithm].skill, 3) : null,
      }));
      // The other rule's pick (selection 'best', the lowest validation MSE), measured from the same run.
      const lowest = report.params.selection?.lowest ?? report.algorithm;
      const lowestMse = report.metrics[lowest]?.normalized.mse ?? null;
      figures.push([
        `${file} H=${horizon}: the lowest-validation-MSE rule would choose`,
        `${lowest}: test MSE ${round(lowestMse, 4)}${published ? `, ratio ${round(lowestMse / published, 3)}` : ''}`,
      ]);
      const slowest = Math.max(...report.leaderboard.map((l) => l.trainMs)) / 1000;
      cells.push({
        file,
        horizon,
        chosen: report.algorithm,
        lowest,
        lowestMse,
        params: report.params,
        mse: chosen.mse,
        mae: chosen.mae,
        published,
        ratio,
        cellS,
        algorithms,
      });
      log(
        `${file} H=${horizon}: ${report.algorithm} test MSE ${round(chosen.mse, 4)} MAE ${round(chosen.mae, 4)}` +
          ` (published ${published}, ratio ${ratio}) in ${round(cellS, 1)} s; ` +
          algorithms.map((a) => `${a.algorithm} ${a.testMse}/${a.testMae} val ${a.validationMse}`).join(', '),
      );
      if (published)
        targets.push({
          what: `${file} H=${horizon}: test MSE of Weir's model (${report.algorithm}) ÷ best published ${published}`,
          value: ratio,
          unit: '×',
          target: '< 1',
          pass: ratio < 1,
        });
      targets.push({
        what: `${file} H=${horizon}: slowest model's training time`,
        value: round(slowest, 1),
        unit: 's',
        target: `< ${TRAIN_TIME_TARGET_S} s`,
        pass: slowest < TRAIN_TIME_TARGET_S,
      });
      for (const a of algorithms)
        figures.push([
          `${file} H=${horizon} ${a.algorithm}: test MSE / MAE (normalized), validation MSE, train s`,
          `${a.testMse} / ${a.testMae}, ${a.validationMse}, ${a.trainS}`,
        ]);
    }
  }
  const result = {
    name: 'models-ett',
    title: `Forecasting accuracy on ETT (univariate OT, lookback ${LOOKBACK}, algorithm ${algorithm})`,
    startedAt,
    durationS: round((performance.now() - t0) / 1000, 0),
    machine,
    command: commandLine(),
    targets,
    figures,
    notes: [
      'LTSF protocol: explicit splits, StandardScaler on train rows, every test window (stride 1, drop_last = False), normalized-scale MSE/MAE.',
      "Weir's model is chosen by auto on data before the test part only: the first candidate in parsimony order (nlinear, linear, dlinear, linear-ensemble, gbdt, blend) within one standard error of the lowest validation MSE, every candidate's validation MSE being a blocked 5-fold cross-validation over the train + validation windows (a fold is fitted without every window sharing a value with it; scored on at most 96 horizon steps); every linear candidate is then refitted on train + validation with its selected ridge strength.",
      'gbdt: direct multi-horizon trees on a strided sample of windows (≤ 150,000 training rows), stopped early on validation, not refitted; its cross-validation folds use the same number of rounds on ≤ 30,000 rows each; blend: the linear ensemble and gbdt weighted by their fold forecasts (weight grid 0, 0.1, …, 1).',
      'Published: LTSF-Linear univariate table, best of Linear/NLinear/DLinear per cell.',
    ],
    data: { cells },
  };
  const written = writeResult(result);
  log(`results: ${path.relative(ROOT, written)}`);
  return result;
}
