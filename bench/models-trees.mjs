// Weir's histogram GBDT (src/models/ml/gbdt) against the reference implementations, side by side in one run:
// Debian's python3-xgboost (tree_method=hist, nthread=2) and python3-sklearn (HistGradientBoosting*), through the
// system interpreter /usr/bin/python3 (the python3 first on the PATH may be another one without them).
//   Regression: Friedman #1 (10 features, 5 informative, noise σ = 1, so the best possible test MSE is 1.0).
//   Classification: a make_classification-like problem generated here (10 features: 5 informative, 2 redundant,
//   3 noise; two clusters per class; 1% flipped labels).
// Same trees for all: 100 rounds, depth 6, learning rate 0.1, no early stopping. The data is generated in JS with
// a seeded generator and written as raw float64 files for Python, so every library sees the same numbers.
// Weir's code is bundled from src/ with esbuild (no `npm run build` needed) and runs single-threaded in this
// process, as the model.train job does in its worker thread. Timings cover binning and training, not data loading.
// Environment: BENCH_TREES_ROWS (regression training rows, default 1000000), BENCH_TREES_CLASS_ROWS
// (classification training rows, default 200000), BENCH_TREES_TEST_ROWS (test rows per problem, default 100000).
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import {
  ROOT,
  WORK_DIR,
  commandLine,
  describeMachine,
  log,
  performance,
  round,
  runChild,
  writeResult,
} from './lib.mjs';

const SYSTEM_PYTHON = '/usr/bin/python3';
const PARAMS = { rounds: 100, maxDepth: 6, learningRate: 0.1 };
const MSE_TARGET_RATIO = 1.05;
const TIME_TARGET_RATIO = 2;
/** Classification: Weir's test accuracy may trail XGBoost's by at most this (absolute). */
const ACCURACY_TOLERANCE = 0.005;
const FEATURES = 10;

export async function runModelsTrees() {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const machine = await describeMachine();
  const rows = Number(process.env.BENCH_TREES_ROWS ?? 1_000_000);
  const classRows = Number(process.env.BENCH_TREES_CLASS_ROWS ?? 200_000);
  const testRows = Number(process.env.BENCH_TREES_TEST_ROWS ?? 100_000);
  const { gbdt, Random } = await loadWeir();
  const reference = await ensureReference();
  const notes = [];
  if (!reference.ok) notes.push(`Reference implementations unavailable: ${reference.reason}`);

  log(
    `models-trees: generating Friedman #1 (${rows} + ${testRows} rows) and classification (${classRows} + ${testRows})`,
  );
  const rng = new Random(20261206);
  const friedman = { train: friedman1(rng, rows), test: friedman1(rng, testRows) };
  const classSpec = classificationSpec(rng);
  const classification = { train: classSample(rng, classSpec, classRows), test: classSample(rng, classSpec, testRows) };

  log('models-trees: Weir gbdt, regression');
  const weirReg = await fitWeir(gbdt, 'regression', friedman);
  log(`models-trees: Weir regression ${weirReg.trainS} s, test MSE ${weirReg.mse}`);
  log('models-trees: Weir gbdt, classification');
  const weirCls = await fitWeir(gbdt, 'classification', classification);
  log(`models-trees: Weir classification ${weirCls.trainS} s, accuracy ${weirCls.accuracy}`);
  const latency = singleRowLatency(gbdt, weirReg.artifact, friedman.test);

  let ref = null;
  if (reference.ok) {
    const files = writeProblems({ friedman, classification });
    log('models-trees: XGBoost and scikit-learn (2 threads)');
    // One interpreter per library: with scikit-learn imported first, XGBoost's 2-thread training ran 13× slower
    // here (two OpenMP runtimes in one process spinning against each other).
    ref = { versions: {} };
    for (const library of ['xgboost', 'sklearn']) {
      const run = await runChild(SYSTEM_PYTHON, ['-c', PYTHON_SCRIPT, library, JSON.stringify(files)], {
        env: { OMP_NUM_THREADS: '2' },
      });
      if (run.code !== 0) {
        notes.push(`The ${library} reference run failed (exit ${run.code}): ${run.stderr.slice(-500)}`);
        ref = null;
        break;
      }
      const out = JSON.parse(run.stdout.trim().split('\n').pop());
      ref[library] = out.results;
      Object.assign(ref.versions, out.versions);
      log(`models-trees: ${library} ${JSON.stringify(out.results)}`);
    }
  }

  const xgbReg = ref?.xgboost?.regression ?? null;
  const xgbCls = ref?.xgboost?.classification ?? null;
  const mseRatio = xgbReg ? round(weirReg.mse / xgbReg.mse, 3) : null;
  // XGBoost's best time in this run: on 2 shared cores its 2-thread (OpenMP) time can exceed its 1-thread time
  // several-fold when other processes run, and comparing against that would flatter Weir.
  const xgbBestS = xgbReg ? Math.min(xgbReg.trainS, xgbReg.trainS1Thread) : null;
  const timeRatio = xgbReg ? round(weirReg.trainS / xgbBestS, 2) : null;
  const clsTimeRatio = xgbCls ? round(weirCls.trainS / xgbCls.trainS, 2) : null;
  const accuracyGap = xgbCls ? round(xgbCls.accuracy - weirCls.accuracy, 4) : null;
  const result = {
    name: 'models-trees',
    title: 'Models: histogram GBDT against XGBoost and scikit-learn',
    startedAt,
    durationS: round((performance.now() - started) / 1000, 1),
    machine,
    command: commandLine(),
    targets: [
      {
        what: `Friedman #1 test MSE, Weir / XGBoost hist (${rows} rows, 100 trees, depth 6)`,
        value: mseRatio,
        unit: '×',
        target: `≤ ${MSE_TARGET_RATIO}`,
        pass: mseRatio !== null && mseRatio <= MSE_TARGET_RATIO,
      },
      {
        what: `Friedman #1 training time, Weir / XGBoost hist (best of 2 threads and 1 thread)`,
        value: timeRatio,
        unit: '×',
        target: `≤ ${TIME_TARGET_RATIO}`,
        pass: timeRatio !== null && timeRatio <= TIME_TARGET_RATIO,
      },
      {
        what: `Classification test accuracy, XGBoost − Weir (${classRows} rows)`,
        value: accuracyGap,
        unit: '',
        target: `≤ ${ACCURACY_TOLERANCE}`,
        pass: accuracyGap !== null && accuracyGap <= ACCURACY_TOLERANCE,
      },
    ],
    figures: [
      ['Weir regression: train s / test MSE', `${weirReg.trainS} / ${weirReg.mse}`],
      ['XGBoost hist regression: train s / test MSE', xgbReg ? `${xgbReg.trainS} / ${round(xgbReg.mse, 4)}` : 'n/a'],
      [
        'XGBoost hist regression, 1 thread: train s (Weir / XGBoost 1 thread)',
        xgbReg ? `${xgbReg.trainS1Thread} (${round(weirReg.trainS / xgbReg.trainS1Thread, 2)}×)` : 'n/a',
      ],
      [
        'Load average at the end',
        os
          .loadavg()
          .map((l) => round(l, 2))
          .join(' / '),
      ],
      [
        'scikit-learn HistGradientBoostingRegressor: train s / test MSE',
        ref ? `${ref.sklearn.regression.trainS} / ${round(ref.sklearn.regression.mse, 4)}` : 'n/a',
      ],
      [
        'Weir classification: train s / test accuracy / log loss',
        `${weirCls.trainS} / ${weirCls.accuracy} / ${weirCls.logLoss}`,
      ],
      [
        'XGBoost binary:logistic: train s / test accuracy / log loss',
        xgbCls ? `${xgbCls.trainS} / ${round(xgbCls.accuracy, 4)} / ${round(xgbCls.logLoss, 4)}` : 'n/a',
      ],
      [
        'scikit-learn HistGradientBoostingClassifier: train s / test accuracy / log loss',
        ref
          ? `${ref.sklearn.classification.trainS} / ${round(ref.sklearn.classification.accuracy, 4)} / ${round(ref.sklearn.classification.logLoss, 4)}`
          : 'n/a',
      ],
      ['Classification training time, Weir / XGBoost', clsTimeRatio === null ? 'n/a' : `${clsTimeRatio}×`],
      [
        // Reported, not judged: on 2 shared cores the 2-thread figure above swings with the load.
        'XGBoost binary:logistic, 1 thread: train s (Weir / XGBoost 1 thread)',
        xgbCls?.trainS1Thread ? `${xgbCls.trainS1Thread} (${round(weirCls.trainS / xgbCls.trainS1Thread, 2)}×)` : 'n/a',
      ],
      ['Weir single-row predict (100 trees, in process): p50 / p99 µs', `${latency.p50} / ${latency.p99}`],
      ['Load average at the start', machine.loadAvgAtStart.join(' / ')],
      [
        'Versions',
        ref
          ? `xgboost ${ref.versions.xgboost}, scikit-learn ${ref.versions.sklearn}, numpy ${ref.versions.numpy}`
          : 'n/a',
      ],
    ],
    notes: [
      'Same data for every library (generated in JS with a seeded generator, handed to Python as float64 files); 100 rounds, depth 6 (scikit-learn: max_depth 6, max_leaf_nodes unlimited), learning rate 0.1, λ = 1, 255 value bins, no early stopping, no subsampling.',
      "Weir runs in this process's main thread plus, above 100,000 training rows, one helper thread for the histograms of large nodes (2 threads, as XGBoost); XGBoost and scikit-learn use 2 threads (XGBoost also 1). Times include binning and training from in-memory arrays.",
      'XGBoost and scikit-learn run in separate interpreters: with scikit-learn imported, XGBoost with 2 threads ran 13× slower here. On a 2-core machine shared with other work, the 2-thread OpenMP timings swing several-fold (spinning threads); the 1-thread XGBoost figure and the load average are recorded for that reason.',
      ...notes,
    ],
    data: {
      rows,
      classRows,
      testRows,
      weir: { regression: strip(weirReg), classification: strip(weirCls), latency },
      reference: ref,
    },
  };
  writeResult(result);
  return result;
}

const strip = ({ artifact: _artifact, ...rest }) => rest;

/** Bundles the GBDT and the seeded generator from src/ (TypeScript) into one ESM file under bench/.work/. */
async function loadWeir() {
  const outfile = path.join(WORK_DIR, 'models-trees-weir.mjs');
  await build({
    stdin: {
      contents:
        "export { gbdt } from './src/models/ml/gbdt/gbdt.ts';\nexport { Random } from './src/models/ml/random.ts';\n",
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile,
    logLevel: 'warning',
  });
  return import(`${outfile}?t=${Date.now()}`);
}

/** XGBoost and scikit-learn in the system interpreter, installed from Debian once if missing. */
async function ensureReference() {
  const probe = () => runChild(SYSTEM_PYTHON, ['-c', 'import xgboost, sklearn, numpy']);
  let check = await probe().catch((e) => ({ code: 1, stderr: String(e) }));
  if (check.code === 0) return { ok: true };
  log('models-trees: installing python3-xgboost and python3-sklearn (apt-get)');
  const install = await runChild('apt-get', ['install', '-y', 'python3-xgboost', 'python3-sklearn']).catch((e) => ({
    code: 1,
    stderr: String(e),
  }));
  if (install.code !== 0) return { ok: false, reason: `apt-get failed: ${install.stderr.slice(-300)}` };
  check = await probe();
  return check.code === 0 ? { ok: true } : { ok: false, reason: check.stderr.slice(-300) };
}

async function fitWeir(gbdt, task, data) {
  const classes = task === 'classification' ? 2 : 0;
  const problem = {
    task,
    classes,
    featureNames: Array.from({ length: FEATURES }, (_, f) => `x${f + 1}`),
    categorical: new Array(FEATURES).fill(false),
    train: data.train,
    validation: {
      x: { rows: 0, columns: Array.from({ length: FEATURES }, () => new Float64Array(0)) },
      y: new Float64Array(0),
    },
  };
  const t0 = performance.now();
  const artifact = await gbdt.fit(problem, { seed: 1, params: { ...PARAMS, earlyStoppingRounds: 0 } });
  const trainS = round((performance.now() - t0) / 1000, 2);
  const predicted = gbdt.predict(artifact, data.test.x, task, classes);
  const y = data.test.y;
  if (task === 'regression') {
    let se = 0;
    for (let i = 0; i < y.length; i++) se += (predicted[i] - y[i]) ** 2;
    return { artifact, trainS, mse: round(se / y.length, 4) };
  }
  let right = 0;
  let loss = 0;
  for (let i = 0; i < y.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, predicted[i * 2 + 1]));
    if ((p >= 0.5 ? 1 : 0) === y[i]) right++;
    loss -= y[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return { artifact, trainS, accuracy: round(right / y.length, 4), logLoss: round(loss / y.length, 4) };
}

/** Single-row predict through the algorithm's interface, as the inference route calls it. */
function singleRowLatency(gbdt, artifact, test) {
  const samples = [];
  const columns = Array.from({ length: FEATURES }, () => new Float64Array(1));
  const x = { rows: 1, columns };
  for (let r = 0; r < 20_000; r++) {
    const i = r % test.x.rows;
    for (let f = 0; f < FEATURES; f++) columns[f][0] = test.x.columns[f][i];
    const t0 = performance.now();
    gbdt.predict(artifact, x, 'regression', 0);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => round(samples[Math.floor(q * (samples.length - 1))] * 1000, 1);
  return { p50: at(0.5), p99: at(0.99) };
}

/** Friedman #1: y = 10 sin(π x1 x2) + 20 (x3 − 0.5)² + 10 x4 + 5 x5 + ε, x ~ U(0,1)^10, ε ~ N(0, 1). */
function friedman1(rng, n) {
  const columns = Array.from({ length: FEATURES }, () => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < FEATURES; f++) columns[f][i] = rng.next();
    const [x1, x2, x3, x4, x5] = [0, 1, 2, 3, 4].map((f) => columns[f][i]);
    y[i] = 10 * Math.sin(Math.PI * x1 * x2) + 20 * (x3 - 0.5) ** 2 + 10 * x4 + 5 * x5 + rng.normal();
  }
  return { x: { rows: n, columns }, y };
}

/** make_classification's recipe: clusters on hypercube vertices in the informative space, then mixing. */
function classificationSpec(rng) {
  const informative = 5;
  const classSep = 1;
  const vertices = [];
  while (vertices.length < 4) {
    const v = Array.from({ length: informative }, () => (rng.next() < 0.5 ? -classSep : classSep));
    if (!vertices.some((w) => w.every((c, k) => c === v[k]))) vertices.push(v);
  }
  // A random linear map per cluster gives the clusters covariance; two redundant features mix the informative ones.
  const covariance = vertices.map(() =>
    Array.from({ length: informative }, () => Array.from({ length: informative }, () => 2 * rng.next() - 1)),
  );
  const redundant = Array.from({ length: 2 }, () => Array.from({ length: informative }, () => 2 * rng.next() - 1));
  return { informative, vertices, covariance, redundant };
}

function classSample(rng, spec, n) {
  const columns = Array.from({ length: FEATURES }, () => new Float64Array(n));
  const y = new Float64Array(n);
  const z = new Float64Array(spec.informative);
  for (let i = 0; i < n; i++) {
    const cluster = rng.int(4);
    let label = cluster % 2;
    for (let k = 0; k < spec.informative; k++) z[k] = rng.normal();
    for (let k = 0; k < spec.informative; k++) {
      let v = spec.vertices[cluster][k];
      for (let m = 0; m < spec.informative; m++) v += z[m] * spec.covariance[cluster][m][k];
      columns[k][i] = v;
    }
    for (let r = 0; r < 2; r++) {
      let v = 0;
      for (let k = 0; k < spec.informative; k++) v += columns[k][i] * spec.redundant[r][k];
      columns[spec.informative + r][i] = v;
    }
    for (let f = spec.informative + 2; f < FEATURES; f++) columns[f][i] = rng.normal();
    if (rng.next() < 0.01) label = rng.int(2);
    y[i] = label;
  }
  return { x: { rows: n, columns }, y };
}

/** Row-major float64 files (x: rows × 10, y: rows) for numpy.fromfile. */
function writeProblems(problems) {
  const files = {};
  for (const [name, problem] of Object.entries(problems)) {
    for (const part of ['train', 'test']) {
      const { x, y } = problem[part];
      const matrix = new Float64Array(x.rows * FEATURES);
      for (let i = 0; i < x.rows; i++) for (let f = 0; f < FEATURES; f++) matrix[i * FEATURES + f] = x.columns[f][i];
      const xFile = path.join(WORK_DIR, `models-trees-${name}-${part}-x.f64`);
      const yFile = path.join(WORK_DIR, `models-trees-${name}-${part}-y.f64`);
      writeFileSync(xFile, new Uint8Array(matrix.buffer));
      writeFileSync(yFile, new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
      files[`${name}_${part}`] = { x: xFile, y: yFile, rows: x.rows };
    }
  }
  return files;
}

const PYTHON_SCRIPT = String.raw`
import json, sys, time
import numpy as np

library = sys.argv[1]
files = json.loads(sys.argv[2])
def load(key):
    f = files[key]
    return np.fromfile(f["x"], dtype="<f8").reshape(f["rows"], 10), np.fromfile(f["y"], dtype="<f8")

def logloss(y, p):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

def scores(task, yte, pred):
    if task == "regression":
        return {"mse": float(np.mean((pred - yte) ** 2))}
    return {"accuracy": float(np.mean((pred >= 0.5) == (yte == 1))), "logLoss": logloss(yte, pred)}

results = {}
versions = {"numpy": np.__version__}
for task in ("regression", "classification"):
    name = "friedman" if task == "regression" else "classification"
    xtr, ytr = load(name + "_train")
    xte, yte = load(name + "_test")
    if library == "xgboost":
        import xgboost as xgb
        versions["xgboost"] = xgb.__version__
        params = {"tree_method": "hist", "max_depth": 6, "eta": 0.1, "nthread": 2, "max_bin": 256, "lambda": 1.0,
                  "objective": "reg:squarederror" if task == "regression" else "binary:logistic"}
        t0 = time.perf_counter()
        booster = xgb.train(params, xgb.DMatrix(xtr, label=ytr, nthread=2), num_boost_round=100)
        train_s = time.perf_counter() - t0
        pred = booster.predict(xgb.DMatrix(xte, nthread=2))
    else:
        import sklearn
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        versions["sklearn"] = sklearn.__version__
        common = dict(max_iter=100, learning_rate=0.1, max_depth=6, max_leaf_nodes=None, l2_regularization=1.0,
                      max_bins=255, early_stopping=False)
        t0 = time.perf_counter()
        if task == "regression":
            model = HistGradientBoostingRegressor(**common).fit(xtr, ytr)
            train_s = time.perf_counter() - t0
            pred = model.predict(xte)
        else:
            model = HistGradientBoostingClassifier(**common).fit(xtr, ytr)
            train_s = time.perf_counter() - t0
            pred = model.predict_proba(xte)[:, 1]
    results[task] = {"trainS": round(train_s, 2), **scores(task, yte, pred)}
    if library == "xgboost":
        # One thread too: OpenMP's 2-thread timing swings several-fold when other processes share the 2 cores.
        t0 = time.perf_counter()
        xgb.train({**params, "nthread": 1}, xgb.DMatrix(xtr, label=ytr, nthread=1), num_boost_round=100)
        results[task]["trainS1Thread"] = round(time.perf_counter() - t0, 2)
print(json.dumps({"versions": versions, "results": results}))
`;
