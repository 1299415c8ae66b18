import type { Problem } from '../../src/cli/api-types.js';

/** Multipart uploads through a real HTTP client (undici's fetch + FormData). */
export interface UploadOptions {
  filename?: string;
  name?: string;
  description?: string;
  tags?: string;
  type?: string;
  extraFields?: Record<string, string>;
  path?: string;
}

/** `target` is an API base URL (no credentials) or a test app, whose auth headers are sent. */
export async function upload(
  target: string | { api: string; auth: Record<string, string> },
  content: Buffer | string,
  opts: UploadOptions = {},
): Promise<Response> {
  const api = typeof target === 'string' ? target : target.api;
  const headers = typeof target === 'string' ? {} : target.auth;
  const form = new FormData();
  if (opts.name !== undefined) form.append('name', opts.name);
  if (opts.description !== undefined) form.append('description', opts.description);
  if (opts.tags !== undefined) form.append('tags', opts.tags);
  for (const [k, v] of Object.entries(opts.extraFields ?? {})) form.append(k, v);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  form.append(
    'file',
    new Blob([new Uint8Array(bytes)], { type: opts.type ?? 'application/octet-stream' }),
    opts.filename ?? 'data.csv',
  );
  return fetch(`${api}${opts.path ?? '/datasets'}?wait=true`, { method: 'POST', body: form, headers });
}

/** `upload`, which must store a new version (201): the dataset's and the version's ids. */
export async function uploadDataset(
  target: string | { api: string; auth: Record<string, string> },
  content: Buffer | string,
  opts: UploadOptions = {},
): Promise<{ id: string; versionId: string }> {
  const res = await upload(target, content, opts);
  if (res.status !== 201) throw new Error(`upload answered ${res.status} instead of 201: ${await res.text()}`);
  const body = (await res.json()) as { id: string; version: { id: string } };
  return { id: body.id, versionId: body.version.id };
}

/** The problem document as a client sees it on the wire. */
export type { Problem };

/** Reads a problem+json response and checks the envelope every error must have. */
export async function problemOf(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json'))
    throw new Error(`expected problem+json, got ${type}: ${await res.text()}`);
  const body = (await res.json()) as Problem;
  for (const key of ['type', 'title', 'status', 'detail', 'code', 'errors', 'requestId'] as const) {
    if (!(key in body)) throw new Error(`problem lacks ${key}: ${JSON.stringify(body)}`);
  }
  if (body.status !== res.status) throw new Error(`problem status ${body.status} != HTTP ${res.status}`);
  const text = JSON.stringify(body);
  if (/\/tmp\/|\/work\/|node_modules|\bat .+\(.+:\d+:\d+\)/.test(text))
    throw new Error(`problem leaks internals: ${text}`);
  return body;
}
