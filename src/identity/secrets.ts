import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Small, careful helpers for secrets. Every comparison of a secret with a stored or configured value goes
 * through `safeEqual`, so its duration does not depend on how many leading characters match.
 */

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares two strings in time independent of where they differ (only their lengths leak, which are public). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    // Still do the work of a comparison so a length mismatch is not measurably faster.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** `n` random bytes as base64url: 32 bytes = 256 bits, far beyond guessing. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Does an `Authorization: Bearer …` header carry exactly this token? */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = bearerToken(header);
  return given !== null && safeEqual(sha256Hex(given), sha256Hex(token));
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ \t]+([^\s]+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
