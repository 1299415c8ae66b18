import createClient, { type Middleware } from 'openapi-fetch';
import { toProblemError } from './problem';
import type { paths } from './schema';
import { credentials } from './credentials';

/**
 * The typed API client: paths, parameters and bodies are checked against the types generated from Weir's own
 * `/openapi.json` (schema.d.ts, `npm run openapi:types`; CI fails when they are stale).
 *
 * Every request carries the in-memory access token and the selected workspace (credentials.ts); a token about to
 * expire is refreshed first. A 401 means the session is gone (revoked, signed out elsewhere): the app returns to the
 * sign-in page.
 */
export const api = createClient<paths>({ baseUrl: '' });

const authMiddleware: Middleware = {
  async onRequest({ request, schemaPath }) {
    if (schemaPath.startsWith('/api/v1/auth/login') || schemaPath.startsWith('/api/v1/auth/refresh')) return request;
    const token = await credentials.freshToken();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    const workspace = credentials.workspaceId;
    if (workspace && !request.headers.has('x-weir-workspace')) request.headers.set('x-weir-workspace', workspace);
    return request;
  },
  onResponse({ response, schemaPath }) {
    if (response.status === 401 && !schemaPath.startsWith('/api/v1/auth/')) credentials.expired();
    return response;
  },
};
api.use(authMiddleware);

/**
 * Awaits an openapi-fetch call and returns its data, or throws the problem document as a ProblemError: the form
 * TanStack Query's queryFn and mutationFn expect.
 */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw toProblemError(undefined, undefined);
  }
  if (result.error !== undefined || !result.response.ok) throw toProblemError(result.error, result.response);
  return result.data as NonNullable<T>;
}

/** Headers for requests made without the typed client (downloads, tus uploads, WebSocket URLs). */
export async function authHeaders(): Promise<Record<string, string>> {
  const token = await credentials.freshToken();
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (credentials.workspaceId) headers['x-weir-workspace'] = credentials.workspaceId;
  return headers;
}
