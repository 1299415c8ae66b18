import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTestServer, type CliResult, type TestServer } from './helpers/cli-server.js';

/**
 * `weir models …` against a real `weir serve`: train with --watch and see the model beside its baselines, list,
 * show by name, predict, forecast with intervals, compare, promote and delete; bad input exits 1 with the pointer.
 */
let server: TestServer;
let dir: string;
const weir = (...args: string[]): Promise<CliResult> =>
  runCli(args, { url: server.url, token: server.token, cwd: dir });

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(path.join(tmpdir(), 'weir-models-cli-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function upload(name: string, content: string): Promise<void> {
  const file = path.join(dir, `${name}.csv`);
  await writeFile(file, content);
  const r = await weir('upload', file, '--name', name);
  expect(r.code, r.stderr).toBe(0);
}

function ok(r: CliResult): CliResult {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe('weir models', () => {
  beforeAll(async () => {
    const hourly = ['at,load'];
    for (let i = 0; i < 200; i++)
      hourly.push(`${new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString()},${i % 10}`);
    await upload('load', hourly.join('\n') + '\n');
    const lines = ['x,y'];
    for (let i = 0; i < 100; i++) lines.push(`${i},${2 * i}`);
    await upload('double', lines.join('\n') + '\n');
  });

  it('trains a forecast with --watch and prints it beside its baselines; forecasts with intervals', async () => {
    const r = ok(
      await weir(
        'models',
        'train',
        'load',
        '--task',
        'forecast',
        '--target',
        'load',
        '--time-column',
        'at',
        '--horizon',
        '3',
        // Repeat-last, so the forecast below can be computed by hand.
        '--algorithm',
        'repeat-last',
        '--seed',
        '1',
        '--name',
        'load-3h',
        '--watch',
      ),
    );
    expect(r.stdout).toMatch(/^id\s+mdl_\w{26}$/m);
    expect(r.stdout).toMatch(/^task\s+forecast \(horizon 3\)$/m);
    expect(r.stdout).toMatch(/^version\s+v1 mv_\w{26} \(current\)$/m);
    expect(r.stdout).toContain(
      'Test metrics (original scale; * = the model, beside every baseline and the other candidates):',
    );
    expect(r.stdout).toMatch(/^ALGORITHM\s+MSE\s+MAE\s+RMSE\s+MAPE\s+SMAPE\s+MASE\s+SKILL$/m);
    expect(r.stdout).toMatch(/^\* repeat-last(\s+[-\d.e+]+){7}$/m);

    const f = ok(await weir('models', 'forecast', 'load-3h', '--level', '0.95'));
    const rows = f.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^SERIES\s+STEP\s+TIME\s+FORECAST\s+LOW 95%\s+HIGH 95%$/);
    // The data ends on 9 at 2024-01-09T07:00Z: repeat-last forecasts 9 for the next three hours.
    expect(rows.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['load', '1', '2024-01-09T08:00:00.000Z', '9'],
      ['load', '2', '2024-01-09T09:00:00.000Z', '9'],
      ['load', '3', '2024-01-09T10:00:00.000Z', '9'],
    ]);
    const json = JSON.parse(ok(await weir('models', 'forecast', 'load-3h', '--horizon', '2', '--json')).stdout) as {
      series: { values: number[] }[];
    };
    expect(json.series[0]!.values).toEqual([9, 9]);
  });

  it('trains, lists, shows, predicts, compares, promotes and deletes a regression', async () => {
    const accepted = JSON.parse(
      ok(await weir('models', 'train', 'double', '--task', 'regression', '--target', 'y', '--json')).stdout,
    ) as {
      model: { id: string; name: string };
      job: { id: string };
    };
    expect(accepted.model.name).toBe('double y regression');
    ok(await weir('jobs', 'watch', accepted.job.id));
    const ls = ok(await weir('models', 'ls', '--task', 'regression'));
    expect(ls.stdout).toMatch(
      new RegExp(`^${accepted.model.id}\\s+double y regression\\s+regression\\s+y\\s+v1\\s+1\\s+succeeded`, 'm'),
    );

    const show = ok(await weir('models', 'show', 'double y regression'));
    // The mean baseline predicts the train mean (69) for the test rows 80..99 (y = 160..198): MAE 110. The model
    // (y = 2x: the linear model fits it exactly) is starred, every candidate trained (none failed).
    expect(show.stdout).toMatch(/^ALGORITHM\s+MSE\s+RMSE\s+MAE\s+R2$/m);
    expect(show.stdout).toMatch(/^ {2}mean\s+[\d.e+]+\s+[\d.]+\s+110\s+-?[\d.]+$/m);
    expect(show.stdout).toMatch(/^\* linear\s/m);
    expect(show.stdout).toMatch(/^mlp\s+ok\s/m);
    expect(show.stdout).not.toMatch(/\bfailed\b/);
    expect(show.stdout).toMatch(/^Leaderboard \(validation part\):$/m);

    const predicted = ok(await weir('models', 'predict', accepted.model.id, '--rows', '[{"x":1},{"x":null}]'));
    expect(
      predicted.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/)),
    ).toEqual([
      // y = 2x; a missing x takes the train part's median (34.5).
      ['ROW', 'PREDICTION', 'PROBABILITIES'],
      ['0', '2'],
      ['1', '69'],
    ]);
    const bad = await weir('models', 'predict', accepted.model.id, '--rows', '{"x":"one"}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('/rows/0/x: expected a number');

    // A second version through the API (a retrain does not change the current version), compare, promote it.
    const res = await fetch(`${server.url}/api/v1/models/${accepted.model.id}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seed: 3 }),
    });
    expect(res.status).toBe(202);
    ok(await weir('jobs', 'watch', ((await res.json()) as { job: { id: string } }).job.id));
    const compare = ok(await weir('models', 'compare', accepted.model.id, '1', '2'));
    expect(compare.stdout).toMatch(/^ALGORITHM\s+METRIC\s+1\s+2\s+DELTA$/m);
    expect(compare.stdout).toMatch(/^mean\s+mae\s+110\s+110\s+0$/m);
    const versions = ok(await weir('models', 'versions', accepted.model.id));
    expect(versions.stdout).toMatch(/^v1 \*\s+mv_/m);
    expect(ok(await weir('models', 'promote', accepted.model.id, '2')).stdout.trim()).toBe(
      `model ${accepted.model.id} "double y regression" now serves v2`,
    );
    expect(ok(await weir('models', 'versions', accepted.model.id)).stdout).toMatch(/^v2 \*\s+mv_/m);

    const refused = await weir('models', 'rm', accepted.model.id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refusing to delete without --yes');
    ok(await weir('models', 'rm', accepted.model.id, '--version', '2', '--yes'));
    // The current version went: the newest remaining one is current again.
    expect(
      ok(await weir('models', 'versions', accepted.model.id))
        .stdout.trim()
        .split('\n')
        .slice(1)
        .map((l) => l.slice(0, 4)),
    ).toEqual(['v1 *']);
    expect(ok(await weir('models', 'rm', 'double y regression', '--yes')).stdout.trim()).toBe(
      `deleted model ${accepted.model.id} with every version and artifact`,
    );
    const gone = await weir('models', 'show', 'double y regression');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no model is named "double y regression" in this workspace');
  });

  it('refuses bad training input with the pointer, and unknown options before calling the server', async () => {
    const r = await weir(
      'models',
      'train',
      'load',
      '--task',
      'forecast',
      '--target',
      'nope',
      '--time-column',
      'at',
      '--horizon',
      '3',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/target/);
    const task = await weir('models', 'train', 'load', '--task', 'clustering', '--target', 'load');
    expect(task.code).toBe(1);
    expect(task.stderr).toContain('expected forecast, regression, classification');
  });
});

describe('weir models --help', () => {
  const cases: [string[], string[]][] = [
    [['models'], ['train', 'ls', 'show', 'versions', 'compare', 'predict', 'forecast', 'promote', 'rm']],
    [
      ['models', 'train'],
      [
        '<dataset>',
        '--task',
        '--target',
        '--horizon',
        '--algorithm',
        '--features',
        '--time-column',
        '--budget',
        '--seed',
        '--name',
        '--watch',
      ],
    ],
    [
      ['models', 'show'],
      ['<model>', 'model name or id (mdl_…)', '--version', '--json'],
    ],
    [
      ['models', 'rm'],
      ['<model>', '--version', '--yes'],
    ],
  ];
  it.each(cases)('weir %j --help', async (command, mentions) => {
    const r = await runCli([...command, '--help'], { url: null });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: weir ${command.join(' ')}`);
    for (const m of mentions) expect(r.stdout).toContain(m);
  });
});
