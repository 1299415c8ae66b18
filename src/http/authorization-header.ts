import { bearerToken } from '../identity/secrets.js';

/**
 * Reads the `Authorization` header: the bearer token, or why the header carries none, said so that the caller
 * knows what to change. The messages never quote the header: whatever it holds may be a secret.
 */
export type AuthorizationHeader = { token: string } | { absent: true } | { malformed: string };

const HOW = 'send it as `Authorization: Bearer <token>`';
/** Schemes other clients send; named back to the caller because they are not secrets. Lower-case → as written. */
const KNOWN_SCHEMES = new Map(
  ['Basic', 'Digest', 'Token', 'ApiKey', 'Negotiate', 'NTLM', 'AWS4-HMAC-SHA256', 'JWT'].map((s) => [
    s.toLowerCase(),
    s,
  ]),
);

export function readAuthorization(header: string | undefined): AuthorizationHeader {
  if (header === undefined) return { absent: true };
  const token = bearerToken(header);
  if (token !== null) return { token };
  const words = header
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  const [first] = words;
  if (first === undefined) return { malformed: `The Authorization header is empty: ${HOW}` };
  if (first.toLowerCase() === 'bearer') {
    if (words.length === 1) return { malformed: `The Authorization header has no token after \`Bearer\`: ${HOW}` };
    return {
      malformed:
        'The Authorization header carries more than one token: send exactly one, as `Authorization: Bearer <token>`',
    };
  }
  const scheme = KNOWN_SCHEMES.get(first.toLowerCase());
  if (scheme !== undefined) {
    return {
      malformed: `Weir does not take \`${scheme}\` credentials: use an access token (POST /api/v1/auth/login) or an API key, and ${HOW}`,
    };
  }
  // One word and no scheme: almost always a token pasted without its prefix.
  if (words.length === 1) return { malformed: `The Authorization header lacks the \`Bearer \` prefix: ${HOW}` };
  return { malformed: `The Authorization header does not use the Bearer scheme: ${HOW}` };
}
