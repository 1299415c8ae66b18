import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTestServer, type CliResult, type TestServer } from './helpers/cli-server.js';

/** `weir upload` following its ingest job, and `weir jobs ls|show|cancel|retry`, against a real `weir serve`. */
let server: TestServer;
let dir: string;
const weir = (...args: string[]): Promise<CliResult> =>
  runCli(args, { url: server.url, token: server.token, cwd: dir });

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(path.join(tmpdir(), 'weir-jobs-cli-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function csv(name: string, content: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

describe('weir upload with ingest jobs', () => {
  it('waits for the ingest job and prints the dataset as before', async () => {
    const r = await weir('upload', await csv('a.csv', `x,y\n1,${randomBytes(4).toString('hex')}\n`), '--name', 'Alpha');
    expect(r.stderr).not.toContain('weir:');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Created dataset ds_\w+ "Alpha"\./);
  });

  it('--no-wait --json prints the accepted upload; weir jobs show follows the job', async () => {
    const r = await weir('upload', await csv('b.csv', `x\n${randomBytes(4).toString('hex')}\n`), '--no-wait', '--json');
    expect(r.code).toBe(0);
    const accepted = JSON.parse(r.stdout) as { datasetId: string; jobId: string; status: string };
    expect(accepted).toMatchObject({
      datasetId: expect.stringMatching(/^ds_/),
      jobId: expect.stringMatching(/^job_/),
      status: 'queued',
    });
    let job: { status: string; result: { id: string } } | undefined;
    for (let i = 0; i < 100 && job?.status !== 'succeeded'; i++) {
      job = JSON.parse((await weir('jobs', 'show', accepted.jobId, '--json')).stdout) as typeof job;
      if (job?.status !== 'succeeded') await new Promise((res) => setTimeout(res, 100));
    }
    expect(job).toMatchObject({ status: 'succeeded', result: { id: accepted.datasetId } });
    const human = await weir('jobs', 'show', accepted.jobId);
    expect(human.stdout).toMatch(/status\s+succeeded/);
    expect(human.stdout).toMatch(/attempts\s+1 of 3/);
    const listed = JSON.parse(
      (await weir('jobs', 'ls', '--status', 'succeeded', '--kind', 'ingest', '--json')).stdout,
    ) as { items: { id: string }[] };
    expect(listed.items.map((j) => j.id)).toContain(accepted.jobId);
    const table = await weir('jobs', 'ls', '--kind', 'ingest');
    expect(table.stdout).toMatch(/^ID\s+KIND\s+STATUS/);
    expect(table.stdout).toContain(accepted.jobId);
  });

  it('a refused file: exit 1 with the problem on stderr (and on stdout with --json)', async () => {
    const file = await csv('r.csv', `a,b,c\n1,2,3\n4,5\n6,7,${randomBytes(4).toString('hex')}\n`);
    const r = await weir('upload', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weir: Row 2 \(line 3\) has 2 fields/m);
    expect(r.stdout).toBe('');
    const j = await weir('upload', file, '--json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 422, code: 'ragged_rows' });
  });

  it('a refused file reads as final: the upload says nothing was stored, jobs show says it stopped and is not retried', async () => {
    const file = await csv('final.csv', `a,b,c\n1,2,3\n4,5\n6,7,${randomBytes(4).toString('hex')}\n`);
    const r = await weir('upload', file);
    expect(r.code).toBe(1);
    const jobId =
      /ingest job (job_\w+) failed for good, and no version was stored; fix the file and upload it again: it would be refused the same way\n/.exec(
        r.stderr,
      )?.[1];
    expect(jobId, r.stderr).toBeDefined();
    expect(r.stderr).toMatch(/^weir: Row 2 \(line 3\) has 2 fields/m);
    const show = await weir('jobs', 'show', jobId!);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^status\s+failed$/m);
    expect(show.stdout).toMatch(/^progress\s+stopped at \d+%$/m);
    expect(show.stdout).toMatch(/^attempts\s+1 of 3; not retried, as the failure is permanent$/m);
    expect(show.stdout).toMatch(/^error\s+ragged_rows: Row 2 \(line 3\) has 2 fields/m);
    expect(show.stdout).toMatch(/^next\s+fix the file and upload it again: it would be refused the same way$/m);
    expect(show.stdout).not.toMatch(/validating|converting/);
    // The record itself, for every client: its progress message is the failure, not the step it stopped at.
    const job = JSON.parse((await weir('jobs', 'show', jobId!, '--json')).stdout) as {
      status: string;
      attempts: number;
      progressMessage: string;
    };
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.progressMessage).toMatch(
      /^Failed: Row 2 \(line 3\) has 2 fields.* \(a permanent failure: not retried\)$/,
    );
  });

  it('cancel and retry of a finished job are refused with the reason', async () => {
    const r = await weir('upload', await csv('c.csv', `x\n${randomBytes(4).toString('hex')}\n`), '--no-wait', '--json');
    const { jobId } = JSON.parse(r.stdout) as { jobId: string };
    for (let i = 0; i < 100; i++) {
      if (
        (JSON.parse((await weir('jobs', 'show', jobId, '--json')).stdout) as { status: string }).status === 'succeeded'
      )
        break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const cancel = await weir('jobs', 'cancel', jobId);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('has already finished (succeeded)');
    const retry = await weir('jobs', 'retry', jobId);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toContain('Only failed or cancelled jobs can be retried');
    const bad = await weir('jobs', 'ls', '--status', 'lost');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--status: expected queued, running, succeeded, failed, cancelled');
  });
});
