import type { SourceRequest } from './sources/types.js';

/** What a source's request or answer can fail with, shared by the safety layer and every source type. */

export type SourceErrorKind =
  | 'rate_limited'
  | 'breaker_open'
  | 'timeout'
  | 'network'
  | 'http'
  | 'too_large'
  | 'data'
  /** The source's address, or a redirect's, is on a network connectors may not reach (outbound.ts). */
  | 'refused_destination';

export class SourceError extends Error {
  override name = 'SourceError';
  readonly kind: SourceErrorKind;
  /** The HTTP status, for 'http' (and 'rate_limited' when the source said so). */
  readonly status?: number;
  /** When asking again makes sense, for 'rate_limited' and 'breaker_open'. */
  readonly retryAfterMs?: number;
  /** The start of an error response's body (at most 2 KiB, secrets removed), for a source to read its error shape. */
  readonly body?: string;

  constructor(
    kind: SourceErrorKind,
    message: string,
    details: { status?: number; retryAfterMs?: number; body?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.body !== undefined) this.body = details.body;
  }
}

/** Query parameters whose values are credentials (ThingSpeak's api_key, OAuth tokens, signed URLs). */
const SECRET_PARAM = /key|token|secret|password|passwd|auth|signature|sig$|credential/i;

/** `url` with the values of secret-looking query parameters replaced, for logs and messages. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparsable url]';
  }
  if (parsed.username || parsed.password) {
    parsed.username = parsed.username ? 'redacted' : '';
    parsed.password = '';
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, 'redacted');
  }
  return parsed.toString();
}

/** Headers whose values are credentials. */
const SECRET_HEADER = /auth|key|token|secret|cookie|session|signature/i;

/** The credential values a request carries (secret query parameters, auth headers and their token part). */
export function requestSecrets(request: SourceRequest): string[] {
  const secrets: string[] = [];
  try {
    for (const [name, value] of new URL(request.url).searchParams) if (SECRET_PARAM.test(name)) secrets.push(value);
  } catch {
    // An unparsable URL carries no parameters to hide; redactUrl already hides it whole.
  }
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (!SECRET_HEADER.test(name)) continue;
    secrets.push(value);
    // "Bearer abc": the token alone may be echoed back.
    const token = value.split(/\s+/).at(-1);
    if (token && token !== value) secrets.push(token);
  }
  // Very short values would blank out ordinary words.
  return secrets.filter((secret) => secret.length >= 4);
}

/** `text` with every URL's secret parameters and every one of `secrets` replaced. */
export function redactText(text: string, secrets: readonly string[]): string {
  let result = text.replace(/https?:\/\/[^\s"'<>]+/g, (url) => redactUrl(url));
  for (const secret of secrets) if (secret.length > 0) result = result.split(secret).join('[redacted]');
  return result;
}
