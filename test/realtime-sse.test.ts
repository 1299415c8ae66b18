import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalEventBus } from '../src/bus/local.js';
import { topics } from '../src/bus/types.js';
import { registerWatchCommand } from '../src/cli/watch.js';
import { newId } from '../src/ids.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, apiKey, bearer } from './helpers/identity.js';
import { insertJobRow, insertWorkspace, until } from './helpers/realtime.js';
import { problemOf } from './helpers/upload.js';

interface SseMessage {
  event: string | null;
  data: unknown;
  comment: string | null;
}

/** Reads a text/event-stream response frame by frame. */
class SseReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  ended = false;

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  /** The next frame, or null once the stream has ended. */
  async next(timeoutMs = 5000): Promise<SseMessage | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const message: SseMessage = { event: null, data: null, comment: null };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) message.comment = line.slice(1).trim();
          else if (line.startsWith('event: ')) message.event = line.slice(7);
          else if (line.startsWith('data: ')) message.data = JSON.parse(line.slice(6));
        }
        return message;
      }
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE frame within ${timeoutMs} ms (buffer: ${JSON.stringify(this.buffer)})`);
      const read = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left)),
      ]);
      if (read === 'timeout') continue;
      if (read.done) this.ended = true;
      else this.buffer += this.decoder.decode(read.value, { stream: true });
    }
  }

  /** The next frame that is not a heartbeat comment. */
  async nextEvent(timeoutMs = 5000): Promise<SseMessage | null> {
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m === null || m.event !== null) return m;
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

const streams = async (t: TestApp): Promise<number> => (await t.context.metrics.sseStreams.get()).values[0]?.value ?? 0;
const listeners = (t: TestApp, topic: string): boolean =>
  (t.context.bus as LocalEventBus).activeTopics().includes(topic as never);

describe('job events over SSE', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ WEIR_SSE_HEARTBEAT_MS: '100' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('streams the current state, then progress and state events, and ends after the final state', async () => {
    const jobId = await insertJobRow(t.context.store.db, {
      workspaceId: 'ws_default',
      status: 'running',
      progress: 10,
    });
    const topic = topics.job(jobId);
    const res = await t.fetch(`${t.api}/jobs/${jobId}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    const sse = new SseReader(res);

    const first = await sse.nextEvent();
    expect(first).toMatchObject({
      event: 'state',
      data: { id: jobId, status: 'running', progress: 10, workspaceId: 'ws_default' },
    });

    await t.context.bus.publish(topic, 'job.progress', { progress: 50, message: 'half' });
    await t.context.bus.publish(topic, 'job.log', { line: 'not streamed' });
    await t.context.bus.publish(topic, 'job.state', { id: jobId, status: 'succeeded', progress: 100 });
    // Published after the end: never sent.
    await t.context.bus.publish(topic, 'job.progress', { progress: 99 });

    expect(await sse.nextEvent()).toEqual({
      event: 'progress',
      data: { progress: 50, message: 'half' },
      comment: null,
    });
    expect(await sse.nextEvent()).toEqual({
      event: 'state',
      data: { id: jobId, status: 'succeeded', progress: 100 },
      comment: null,
    });
    expect(await sse.nextEvent()).toBeNull();
    expect(sse.ended).toBe(true);
    await until(async () => (await streams(t)) === 0 && !listeners(t, topic), 'stream cleanup');
  });

  it('sends the final state of a finished job and closes at once', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'failed' });
    await t.context.store.db
      .updateTable('jobs')
      .set({ error_code: 'boom', error_message: 'it broke' })
      .where('id', '=', jobId)
      .execute();
    const sse = new SseReader(await t.fetch(`${t.api}/jobs/${jobId}/events`));
    expect(await sse.nextEvent()).toMatchObject({
      event: 'state',
      data: { id: jobId, status: 'failed', error: { code: 'boom', message: 'it broke' } },
    });
    expect(await sse.nextEvent()).toBeNull();
    expect(listeners(t, topics.job(jobId))).toBe(false);
  });

  it('sends heartbeat comments while the job is quiet', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'queued' });
    const sse = new SseReader(await t.fetch(`${t.api}/jobs/${jobId}/events`));
    expect((await sse.next())?.event).toBe('state');
    expect(await sse.next()).toEqual({ event: null, data: null, comment: 'keep-alive' });
    await sse.cancel();
  });

  it('ends with the final state read from the database when the final event never arrives', async () => {
    const jobId = await insertJobRow(t.context.store.db, {
      workspaceId: 'ws_default',
      status: 'running',
      progress: 40,
    });
    const sse = new SseReader(await t.fetch(`${t.api}/jobs/${jobId}/events`));
    expect(await sse.nextEvent()).toMatchObject({ event: 'state', data: { id: jobId, status: 'running' } });
    // The job ends, but its event is lost (nothing is published).
    const finishedAt = new Date().toISOString();
    await t.context.store.db
      .updateTable('jobs')
      .set({
        status: 'succeeded',
        progress: 100,
        result_json: '{"rows":3}',
        finished_at: finishedAt,
        updated_at: finishedAt,
      })
      .where('id', '=', jobId)
      .execute();
    // Keep-alives (every 100 ms) go on meanwhile; the final state must come within a few of them.
    let final: SseMessage | null = null;
    for (const deadline = Date.now() + 2000; Date.now() < deadline;) {
      const m = await sse.next(2000);
      if (m?.event !== null) {
        final = m;
        break;
      }
    }
    expect(final).toMatchObject({
      event: 'state',
      data: { id: jobId, status: 'succeeded', progress: 100, result: { rows: 3 } },
    });
    expect(await sse.next(2000)).toBeNull();
    await until(async () => (await streams(t)) === 0 && !listeners(t, topics.job(jobId)), 'stream cleanup');
  });

  it('drops the bus subscription when the client goes away', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const topic = topics.job(jobId);
    const controller = new AbortController();
    const res = await t.fetch(`${t.api}/jobs/${jobId}/events`, { signal: controller.signal });
    const sse = new SseReader(res);
    await sse.nextEvent();
    expect(listeners(t, topic)).toBe(true);
    expect(await streams(t)).toBe(1);
    controller.abort();
    await until(async () => !listeners(t, topic) && (await streams(t)) === 0, 'cleanup after disconnect');
  });

  it('answers 404 for a job of another workspace exactly like a missing one, and 401 without credentials', async () => {
    const other = await insertWorkspace(t.context.store.db);
    const foreign = await insertJobRow(t.context.store.db, { workspaceId: other, status: 'running' });
    const res = await t.fetch(`${t.api}/jobs/${foreign}/events`);
    expect(res.status).toBe(404);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ code: 'not_found', detail: `Job '${foreign}' does not exist` });
    const missing = newId('job');
    const res2 = await t.fetch(`${t.api}/jobs/${missing}/events`);
    expect(res2.status).toBe(404);
    expect((await problemOf(res2)).detail).toBe(`Job '${missing}' does not exist`);
    expect(listeners(t, topics.job(foreign))).toBe(false);
    expect(listeners(t, topics.job(missing))).toBe(false);

    const anonymous = await fetch(`${t.api}/jobs/${missing}/events`);
    expect(anonymous.status).toBe(401);
    expect((await t.fetch(`${t.api}/jobs/not-a-job/events`)).status).toBe(400);
  });
});

describe('job events over SSE when the caller loses access', () => {
  // The default SSE heartbeat (15 s): a stream that ends within these tests' few seconds ended on the change event.
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends the stream of a member removed from the workspace at once, with a final event saying why', async () => {
    const viewer = await actor(t, 'viewer');
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const sse = new SseReader(await fetch(`${t.api}/jobs/${jobId}/events`, { headers: viewer.headers }));
    expect(await sse.nextEvent()).toMatchObject({ event: 'state', data: { id: jobId } });

    expect(
      (await t.fetch(`${t.api}/workspaces/ws_default/members/${viewer.userId}`, { method: 'DELETE' })).status,
    ).toBe(204);
    expect(await sse.nextEvent()).toEqual({
      event: 'revoked',
      comment: null,
      data: {
        reason: 'access_revoked',
        message: expect.stringContaining('no longer allow this stream; open the stream again once access is restored'),
      },
    });
    // Published after the end: never sent.
    await t.context.bus.publish(topics.job(jobId), 'job.progress', { progress: 50 });
    expect(await sse.nextEvent()).toBeNull();
    await until(async () => (await streams(t)) === 0 && !listeners(t, topics.job(jobId)), 'stream cleanup');
    expect((await fetch(`${t.api}/jobs/${jobId}/events`, { headers: viewer.headers })).status).toBe(404);
  });

  it('ends the stream of a revoked API key at once, saying the credentials are gone', async () => {
    const key = await apiKey(t, ['jobs:read']);
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const sse = new SseReader(await fetch(`${t.api}/jobs/${jobId}/events`, { headers: bearer(key.token) }));
    expect(await sse.nextEvent()).toMatchObject({ event: 'state' });
    expect((await t.fetch(`${t.api}/keys/${key.id}`, { method: 'DELETE' })).status).toBe(200);
    expect(await sse.nextEvent()).toMatchObject({
      event: 'revoked',
      data: { reason: 'credentials_revoked', message: expect.stringMatching(/no longer valid/) },
    });
    expect(await sse.nextEvent()).toBeNull();
  });

  it('keeps the stream of a member whose new role still reads jobs', async () => {
    const member = await actor(t, 'maintainer');
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const sse = new SseReader(await fetch(`${t.api}/jobs/${jobId}/events`, { headers: member.headers }));
    expect(await sse.nextEvent()).toMatchObject({ event: 'state' });
    const demoted = await t.fetch(`${t.api}/workspaces/ws_default/members/${member.userId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"role":"viewer"}',
    });
    expect(demoted.status).toBe(200);
    await t.context.bus.publish(topics.job(jobId), 'job.progress', { progress: 30 });
    expect(await sse.nextEvent()).toEqual({ event: 'progress', data: { progress: 30 }, comment: null });
    await sse.cancel();
  });
});

describe('job events over SSE: access on the heartbeat, and the cap per user', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEIR_SSE_HEARTBEAT_MS: '100', WEIR_SSE_MAX_STREAMS_PER_USER: '2' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends a stream at a heartbeat when access was taken away without a change event (an operator’s SQL)', async () => {
    const viewer = await actor(t, 'viewer');
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const sse = new SseReader(await fetch(`${t.api}/jobs/${jobId}/events`, { headers: viewer.headers }));
    expect(await sse.nextEvent()).toMatchObject({ event: 'state' });
    await t.context.store.db.deleteFrom('memberships').where('user_id', '=', viewer.userId).execute();
    expect(await sse.nextEvent()).toMatchObject({ event: 'revoked', data: { reason: 'access_revoked' } });
    expect(await sse.nextEvent()).toBeNull();
  });

  it('refuses a stream past the cap with a 429 problem, and accepts again once one ends', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const first = new SseReader(await t.fetch(`${t.api}/jobs/${jobId}/events`));
    const second = new SseReader(await t.fetch(`${t.api}/jobs/${jobId}/events`));
    await Promise.all([first.nextEvent(), second.nextEvent()]);
    const refused = await t.fetch(`${t.api}/jobs/${jobId}/events`);
    expect(refused.status).toBe(429);
    expect(await problemOf(refused)).toMatchObject({
      code: 'too_many_connections',
      limit: 2,
      detail:
        'You already hold 2 open job event streams on this server, the most allowed; close one before opening another',
    });
    // An API key of the same user has a count of its own.
    const key = await apiKey(t, ['jobs:read']);
    const keyed = await fetch(`${t.api}/jobs/${jobId}/events`, { headers: bearer(key.token) });
    expect(keyed.status).toBe(200);
    await keyed.body!.cancel();

    await first.cancel();
    await until(async () => (await streams(t)) === 1, 'the cancelled stream to be released');
    const again = await t.fetch(`${t.api}/jobs/${jobId}/events`);
    expect(again.status).toBe(200);
    expect((await t.fetch(`${t.api}/jobs/${jobId}/events`)).status).toBe(429);
    await again.body!.cancel();
    await second.cancel();
  });
});

describe('job events over SSE at shutdown', () => {
  it('ends open streams so that closing the app does not wait for their jobs', async () => {
    const t = await startTestApp();
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const sse = new SseReader(await t.fetch(`${t.api}/jobs/${jobId}/events`));
    await sse.nextEvent();
    const started = Date.now();
    await t.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await sse.nextEvent()).toBeNull();
  });
});

describe('weir jobs watch', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The CLI's credentials are not this feature's subject: the server runs with authentication disabled.
    t = await startTestApp({ WEIR_INSECURE_DISABLE_AUTH: 'true' });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Runs `weir jobs watch <id> …` in-process while `during` publishes; returns its output and exit code. */
  async function watch(
    id: string,
    extra: string[],
    during: () => Promise<void>,
  ): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const program = new Command('weir').exitOverride();
    registerWatchCommand(program.command('jobs'));
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    const previous = process.exitCode;
    process.exitCode = undefined;
    try {
      const running = program.parseAsync(['node', 'weir', 'jobs', 'watch', id, '--url', t.url, ...extra]);
      await during();
      await running;
      return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
    } finally {
      out.mockRestore();
      err.mockRestore();
      process.exitCode = previous;
    }
  }

  it('follows a job to success (exit 0), printing every event with --json', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running', progress: 5 });
    const topic = topics.job(jobId);
    const result = await watch(jobId, ['--json'], async () => {
      await until(() => listeners(t, topic), 'the CLI stream');
      await t.context.bus.publish(topic, 'job.progress', {
        id: jobId,
        progress: 70,
        message: 'converting',
        data: null,
      });
      await t.context.bus.publish(topic, 'job.state', {
        id: jobId,
        status: 'succeeded',
        progress: 100,
        progressMessage: null,
        error: null,
      });
    });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; data: { status?: string; progress: number } });
    expect(lines.map((l) => [l.event, l.data.status ?? null, l.data.progress])).toEqual([
      ['state', 'running', 5],
      ['progress', null, 70],
      ['state', 'succeeded', 100],
    ]);
  });

  it('exits 1 with the error when the job fails, and at once for a job that already ended', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const topic = topics.job(jobId);
    const failed = await watch(jobId, [], async () => {
      await until(() => listeners(t, topic), 'the CLI stream');
      await t.context.bus.publish(topic, 'job.state', {
        id: jobId,
        status: 'failed',
        progress: 40,
        error: { code: 'invalid_file', message: 'row 3 is ragged' },
      });
    });
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toBe(`weir: job ${jobId} failed: row 3 is ragged (invalid_file)\n`);

    const cancelledId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'cancelled' });
    const cancelled = await watch(cancelledId, [], async () => {});
    expect(cancelled.exitCode).toBe(1);
    expect(cancelled.stderr).toBe(`weir: job ${cancelledId} cancelled\n`);

    const succeededId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'succeeded' });
    const succeeded = await watch(succeededId, [], async () => {});
    expect(succeeded).toEqual({ stdout: `job ${succeededId} succeeded\n`, stderr: '', exitCode: 0 });
  });

  it('reports a missing job as the API does, with exit code 1', async () => {
    const missing = newId('job');
    const result = await watch(missing, [], async () => {});
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`weir: Job '${missing}' does not exist\n`);
  });
});

describe('job events over SSE with the job runtime', () => {
  it('follows a real job from its current state through progress to success', async () => {
    const t = await startTestApp({ WEIR_TEST_JOB_KINDS: '1' });
    try {
      const job = await t.context.jobs.enqueue(
        'test.sleep',
        { v: 1, ms: 900, steps: 3 },
        { workspaceId: 'ws_default' },
      );
      const sse = new SseReader(await t.fetch(`${t.api}/jobs/${job.id}/events`));
      const seen: SseMessage[] = [];
      for (let m = await sse.nextEvent(10_000); m !== null; m = await sse.nextEvent(10_000)) seen.push(m);
      expect(seen[0]).toMatchObject({ event: 'state', data: { id: job.id, kind: 'test.sleep' } });
      const progress = seen.filter((m) => m.event === 'progress').map((m) => (m.data as { progress: number }).progress);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(seen.at(-1)).toMatchObject({ event: 'state', data: { id: job.id, status: 'succeeded', progress: 100 } });
      expect(
        seen.filter((m) => m.event === 'state' && (m.data as { status: string }).status === 'succeeded'),
      ).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
