import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';
import { createLogger } from '../src/logger.js';
import { blobsUnderTest, dialectUnderTest, startTestApp, type TestApp } from './helpers/app.js';
import { problemOf, upload } from './helpers/upload.js';

const run = promisify(execFile);
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('health', () => {
  it('live and ready answer 200 with every check', async () => {
    expect(await (await fetch(`${t.url}/health/live`)).json()).toEqual({ status: 'ok' });
    const res = await fetch(`${t.url}/health/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(['blobs', 'database', 'duckdb', 'queue']);
    expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);
  });

  it.each([
    ['duckdb', (a: TestApp) => a.context.engine.close()],
    ['database', (a: TestApp) => void a.context.store.close()],
    // Local blobs are broken here by replacing their directory; an unreachable S3 endpoint failing the probe is
    // test/blobs.test.ts's.
    ...(blobsUnderTest === 'local'
      ? [
          [
            'blobs',
            async (a: TestApp) => {
              await rm(path.join(a.dataDir, 'blobs'), { recursive: true, force: true });
              await writeFile(path.join(a.dataDir, 'blobs'), 'not a directory');
            },
          ] as const,
        ]
      : []),
  ] as [string, (a: TestApp) => unknown][])('ready is 503 naming %s when it fails', async (name, breakIt) => {
    const a = await startTestApp();
    try {
      await breakIt(a);
      const res = await fetch(`${a.url}/health/ready`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const p = (await problemOf(res)) as unknown as { code: string; detail: string; failing: string[] };
      expect(p.code).toBe('not_ready');
      expect(p.failing).toEqual([name]);
      expect(p.detail).toContain(name);
      expect((await fetch(`${a.url}/health/live`)).status).toBe(200);
    } finally {
      await a.app.close().catch(() => {});
      await rm(a.dataDir, { recursive: true, force: true });
    }
  });
});

describe.runIf(dialectUnderTest === 'postgres')('PostgreSQL connections', () => {
  it('survives the server terminating its idle connections: logged, then reconnected on the next query', async () => {
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: process.env.WEIR_TEST_DATABASE_URL });
    await admin.connect();
    try {
      const database = new URL(t.config.database.dialect === 'postgres' ? t.config.database.url : '').pathname.slice(1);
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      expect(killed.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await expect
      .poll(() => t.logs.some((l) => l.msg === 'database connection lost; the pool reconnects on the next query'))
      .toBe(true);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
    expect((await t.fetch(`${t.api}/datasets`)).status).toBe(200);
  });
});

describe('request ids and logs', () => {
  it('echoes a caller request id and puts it on the log lines of that request', async () => {
    const res = await t.fetch(`${t.api}/datasets`, { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    const lines = t.logs.filter((l) => l.requestId === 'trace-abc.123');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatchObject({
      msg: 'request completed',
      statusCode: 200,
      route: '/api/v1/datasets',
      level: 'info',
    });
  });

  it('generates an id when none (or an unsafe one) is given', async () => {
    const plain = await fetch(`${t.url}/health/live`);
    expect(plain.headers.get('x-request-id')).toMatch(/^req_[0-9A-Z]{26}$/);
    const unsafe = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': 'x'.repeat(300) } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('every request log line carries a request id', async () => {
    await upload(t, 'z\n1\n2\n', { filename: 'log.csv' });
    const requestLines = t.logs.filter((l) => 'statusCode' in l || l.msg === 'dataset version stored');
    expect(requestLines.length).toBeGreaterThan(1);
    for (const l of requestLines) expect(typeof l.requestId).toBe('string');
  });
});

describe('errors', () => {
  it('an unknown route is a problem+json 404', async () => {
    const res = await t.fetch(`${t.api}/nothing-here`, { headers: { 'x-request-id': 'nf-1' } });
    expect(res.status).toBe(404);
    const p = await problemOf(res);
    expect(p).toMatchObject({ code: 'route_not_found', type: 'urn:weir:problem:route_not_found', requestId: 'nf-1' });
  });

  it('an unexpected error is a plain 500 without stack or paths, and is logged', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-500-'));
    const logs: string[] = [];
    const config = loadConfig({ WEIR_DATA_DIR: dataDir });
    const context = await createContext(config, createLogger('info', { write: (s: string) => void logs.push(s) }));
    const app = await buildApp(context);
    app.get(
      '/boom',
      { config: { access: 'public' }, schema: { hide: true, response: { 200: { type: 'object' } } } },
      async () => {
        throw new Error(`secret failure at ${dataDir}/weir.db`);
      },
    );
    try {
      const res = await app.inject({ method: 'GET', url: '/boom' });
      expect(res.statusCode).toBe(500);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const body = res.json() as Record<string, unknown>;
      expect(body).toMatchObject({ status: 500, code: 'internal', title: 'Internal server error', errors: [] });
      expect(JSON.stringify(body)).not.toContain('secret');
      expect(JSON.stringify(body)).not.toContain(dataDir);
      expect(logs.join('')).toContain('secret failure');
    } finally {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a JSON body over WEIR_MAX_BODY_BYTES is 413', async () => {
    const small = await startTestApp({ WEIR_MAX_BODY_BYTES: '100' });
    try {
      const res = await small.fetch(`${small.api}/datasets/ds_00000000000000000000000000`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ description: 'x'.repeat(500) }),
      });
      expect(res.status).toBe(413);
      expect((await problemOf(res)).code).toBe('payload_too_large');
    } finally {
      await small.close();
    }
  });
});

describe('OpenAPI and docs', () => {
  it('/openapi.json documents every route with its responses and the problem schema', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; requestBody?: { content: Record<string, unknown> } }>
      >;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.schemas.Problem).toBeDefined();
    const expected = [
      ['get', '/health/live'],
      ['get', '/health/ready'],
      ['get', '/metrics'],
      ['get', '/api/v1/system/info'],
      ['post', '/api/v1/datasets'],
      ['get', '/api/v1/datasets'],
      ['get', '/api/v1/datasets/{id}'],
      ['patch', '/api/v1/datasets/{id}'],
      ['delete', '/api/v1/datasets/{id}'],
      ['get', '/api/v1/datasets/{id}/versions'],
      ['post', '/api/v1/datasets/{id}/versions'],
      ['get', '/api/v1/datasets/{id}/preview'],
      ['get', '/api/v1/datasets/{id}/profile'],
      ['get', '/api/v1/datasets/{id}/download'],
    ];
    for (const [method, p] of expected) {
      const op = doc.paths[p!]?.[method!];
      expect(op, `${method} ${p}`).toBeDefined();
      expect(
        Object.keys(op!.responses).some((s) => s.startsWith('2')),
        `${method} ${p} documents a success response`,
      ).toBe(true);
    }
    expect(doc.paths['/api/v1/datasets']!.post!.requestBody!.content['multipart/form-data']).toBeDefined();
  });

  it('a route without a response schema, an access declaration or an operationId is refused when it is registered', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-schema-'));
    const context = await createContext(loadConfig({ WEIR_DATA_DIR: dataDir }), createLogger('silent'));
    const app = await buildApp(context);
    try {
      expect(() => app.get('/undocumented', async () => ({}))).toThrow(/GET \/undocumented has no response schema/);
      // …and so is one that does not say who may call it: access control cannot be forgotten.
      expect(() =>
        app.get('/unguarded', { schema: { response: { 200: { type: 'object' } } } }, async () => ({})),
      ).toThrow(/GET \/unguarded declares no config.access/);
      // …and a documented route names its operation, as clients generated from the document call it.
      expect(() =>
        app.get(
          '/unnamed',
          { config: { access: 'public' }, schema: { response: { 200: { type: 'object' } } } },
          async () => ({}),
        ),
      ).toThrow(/GET \/unnamed has no schema.operationId/);
    } finally {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('/docs serves the interactive documentation', async () => {
    const res = await fetch(`${t.url}/docs/`, { redirect: 'follow' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('swagger');
  });

  it('/docs, loaded on its first request, serves the pages, assets and document of the API, and 404s as the API does', async () => {
    const asset = await fetch(`${t.url}/docs/static/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^application\/javascript/);
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    const redirect = await fetch(`${t.url}/docs/static/index.html`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('content-type')).toBeNull();
    const document = (await (await fetch(`${t.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(document).toEqual(await (await fetch(`${t.url}/openapi.json`)).json());
    expect(Object.keys(document.paths).filter((p) => p.startsWith('/docs'))).toEqual([]);
    const unknown = await fetch(`${t.url}/docs/nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await unknown.json()).toMatchObject({ code: 'route_not_found' });
  });
});

describe('metrics', () => {
  it('exposes HTTP, process and dataset metrics in Prometheus text format', async () => {
    await upload(t, 'm\n1\n2\n3\n', { filename: 'metrics.csv' });
    await t.fetch(`${t.api}/datasets?limit=1`);
    const res = await fetch(`${t.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/weir_http_requests_total\{method="GET",route="\/api\/v1\/datasets",status_code="200"\} \d+/);
    expect(text).toMatch(
      /weir_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/v1\/datasets",status_code="200"\} \d+/,
    );
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^weir_datasets [1-9]\d*$/m);
    expect(text).toMatch(/^weir_dataset_versions [1-9]\d*$/m);
    expect(text).toMatch(/^weir_dataset_bytes\{kind="parquet"\} [1-9]\d*$/m);
    expect(text).toMatch(/^weir_dataset_ingests_total\{format="csv",outcome="stored"\} [1-9]\d*$/m);
  });

  it('passes promtool check metrics (apart from prom-client default-metric naming warnings)', async () => {
    const promtool = await run('sh', ['-c', 'command -v promtool']).then(
      (r) => r.stdout.trim(),
      () => '',
    );
    if (!promtool) {
      // .ci/run installs Debian's prometheus package, so in CI this check always runs.
      if (process.env.CI) throw new Error('promtool is not installed but CI is set');
      console.warn('promtool not installed: apt-get install prometheus to run this check');
      return;
    }
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const result = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = execFile(promtool, ['check', 'metrics'], (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
      child.stdin!.end(text);
    });
    const problems = result.out.split('\n').filter((l) => l.trim() && !/^(nodejs_|process_)/.test(l.trim()));
    expect(problems, result.out).toEqual([]);
  });
});

describe('system info', () => {
  it('reports version, mode, drivers and uptime', async () => {
    const info = (await (await t.fetch(`${t.api}/system/info`)).json()) as Record<string, unknown> & {
      drivers: Record<string, string>;
    };
    expect(info).toMatchObject({
      name: 'weir',
      version: '0.1.0',
      mode: dialectUnderTest === 'postgres' ? 'cluster' : 'embedded',
    });
    expect(info.drivers.metadata).toBe(dialectUnderTest);
    expect(info.drivers.blobs).toBe(blobsUnderTest);
    expect(info.drivers.engine).toMatch(/^duckdb v\d/);
    // Without Redis, events cross to the supervised worker process over IPC, or stay in this process.
    expect(info.drivers.events).toBe(t.context.queue.supervisor ? 'ipc' : 'local');
    expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });
});

describe('CORS', () => {
  it('answers allowed origins only', async () => {
    const a = await startTestApp({ WEIR_CORS_ORIGINS: 'https://app.example.com' });
    try {
      const pre = await a.fetch(`${a.api}/datasets`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const ok = await a.fetch(`${a.api}/datasets`, { headers: { origin: 'https://app.example.com' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(ok.headers.get('access-control-expose-headers')).toContain('x-request-id');
      const other = await a.fetch(`${a.api}/datasets`, { headers: { origin: 'https://evil.example.net' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await a.close();
    }
  });
});
