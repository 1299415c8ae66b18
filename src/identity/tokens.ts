import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * Access tokens: JWTs signed with HS256 under one instance secret (configured, or generated on first run and kept
 * in the metadata DB so every node of a cluster shares it). Verification accepts exactly that algorithm, issuer
 * and audience and a live expiry, so `alg: none`, RS/HS confusion, foreign audiences and expired tokens all fail.
 *
 * Tokens are signed with jose. They are verified here, over node:crypto: jose's jwtVerify cost 100–150 µs per call
 * on our machines (a WebCrypto round per call), a tenth of a dataset listing, on every request; this verifier
 * does the same checks (RFC 7519 §7.2 for a fixed algorithm) in a few µs. test/auth.test.ts feeds it forged,
 * `none`, RS256, HS512, wrong-audience, wrong-issuer and expired tokens.
 *
 * `iat` and `exp` are read against real time, not the injected Clock (src/clock.ts) the rest of identity goes by: a
 * token is read by clients and other nodes whose clocks nobody moves, and a short-lived token has nothing a test
 * would need to wait for (`sign` and `verify` take `now` for that).
 */
export const ISSUER = 'weir';
export const AUDIENCE = 'weir-api';
const ALGORITHM = 'HS256';

export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Session (refresh-token family) id: revoking the session ends its access tokens. */
  sid: string;
  /** The user's default workspace when the token was issued. */
  ws: string;
}

interface VerifiedToken {
  claims: AccessClaims;
  /** Expiry, in seconds since the epoch. */
  exp: number;
}

const VERIFIED_CACHE_MAX = 10_000;

export class TokenSigner {
  private readonly key: Uint8Array;
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(claims: AccessClaims, now = Date.now()): Promise<string> {
    const iat = Math.floor(now / 1000);
    return (
      new SignJWT({ sid: claims.sid, ws: claims.ws })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(iat)
        // Unique per token: two tokens of one session issued within a second still differ.
        .setJti(randomBytes(12).toString('base64url'))
        .setExpirationTime(iat + this.ttlSeconds)
        .sign(this.key)
    );
  }

  /** The claims of a valid token, or the reason it is not (for logs only; clients get one generic 401). */
  verify(token: string, now = Date.now()): Promise<{ claims: AccessClaims } | { reason: string }> {
    // A client sends the same token with every request until it expires. A verified token is remembered by its
    // exact text (any other text, forged or not, is verified afresh) until its own expiry; the HMAC and two
    // JSON parses cost more than the lookup.
    const known = this.verified.get(token);
    if (known && known.exp > Math.floor(now / 1000)) return Promise.resolve({ claims: known.claims });
    const result = this.verifySync(token, now);
    if (!('claims' in result)) return Promise.resolve(result);
    if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, result);
    return Promise.resolve({ claims: result.claims });
  }

  private verifySync(token: string, now: number): VerifiedToken | { reason: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { reason: 'malformed' };
    const [head, body, signature] = parts as [string, string, string];
    const header = parseSegment(head);
    // Only the one algorithm: `none`, RS256 (key confusion), HS384/512 and anything else end here.
    if (
      !header ||
      header.alg !== ALGORITHM ||
      (header.typ !== undefined && header.typ !== 'JWT') ||
      header.crit !== undefined
    )
      return { reason: 'algorithm not allowed' };
    const expected = createHmac('sha256', this.key).update(`${head}.${body}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { reason: 'bad signature' };
    const p = parseSegment(body);
    if (!p) return { reason: 'malformed' };
    const seconds = Math.floor(now / 1000);
    if (typeof p.exp !== 'number' || p.exp <= seconds) return { reason: 'expired' };
    if (typeof p.nbf === 'number' && p.nbf > seconds + CLOCK_TOLERANCE_S) return { reason: 'not yet valid' };
    if (p.iss !== ISSUER) return { reason: 'claim iss invalid' };
    if (!(p.aud === AUDIENCE || (Array.isArray(p.aud) && p.aud.includes(AUDIENCE))))
      return { reason: 'claim aud invalid' };
    if (typeof p.sub !== 'string' || typeof p.sid !== 'string' || typeof p.ws !== 'string')
      return { reason: 'claims missing' };
    return { claims: { sub: p.sub, sid: p.sid, ws: p.ws }, exp: p.exp };
  }
}

const CLOCK_TOLERANCE_S = 5;

function parseSegment(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Cheap shape test: does this bearer look like a JWT (three base64url parts) rather than an API key? */
export const looksLikeJwt = (token: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
