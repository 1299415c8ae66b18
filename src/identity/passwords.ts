import argon2 from 'argon2';

/**
 * Password hashing with argon2id. Parameters follow OWASP's first recommended configuration
 * (19 MiB memory, 2 passes, 1 lane): about 25 ms per hash on our 2-core machines, so a login costs little to a
 * user and a lot to someone trying millions of guesses.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

/** False for a wrong password and for a malformed stored hash alike. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

// A login for an unknown email verifies against this hash, so it takes as long as one for a real account:
// response time tells nothing about which emails exist.
let decoy: Promise<string> | undefined;
export async function burnVerification(password: string): Promise<void> {
  decoy ??= hashPassword('weir-decoy-password-never-matches');
  await verifyPassword(await decoy, password);
}

/** Why a new password is not acceptable, or null. Length only: NIST 800-63B advises against composition rules. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return null;
}
