import { ConfigError, type Env, type Reader } from './reader.js';

/** Tokens, the first owner, and the benchmark-only switch that turns authentication off. */

export interface AuthConfig {
  /** HS256 signing secret for access tokens; null = generated on first run and kept in the metadata DB. */
  jwtSecret: string | null;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** How long a workspace invitation can be accepted, in seconds (WEIR_INVITATION_TTL, default 7 days). */
  invitationTtlSeconds: number;
  /** Creates the first owner on an empty database; ignored once any user exists. */
  bootstrapAdmin: { email: string; password: string } | null;
  /** When set, /metrics needs it as a bearer token; null = /metrics is public. */
  metricsToken: string | null;
  /** Mark the refresh cookie `Secure` (default true; browsers treat http://localhost as secure too). */
  cookieSecure: boolean;
  /**
   * Benchmarks only: every request acts as the owner of the default workspace. Refused unless the server
   * listens on a loopback address, and logged loudly.
   */
  insecureDisabled: boolean;
}

export function parseAuth(r: Reader, env: Env): AuthConfig {
  const jwtSecret = env.WEIR_JWT_SECRET?.trim() || null;
  if (jwtSecret !== null && Buffer.byteLength(jwtSecret) < 32)
    throw new ConfigError('WEIR_JWT_SECRET', 'at least 32 characters (256 bits) of secret', '<hidden>');
  const email = env.WEIR_BOOTSTRAP_ADMIN_EMAIL?.trim();
  const password = env.WEIR_BOOTSTRAP_ADMIN_PASSWORD;
  if (!!email !== !!password)
    throw new ConfigError(
      email ? 'WEIR_BOOTSTRAP_ADMIN_PASSWORD' : 'WEIR_BOOTSTRAP_ADMIN_EMAIL',
      'to be set together with its pair',
      '',
    );
  if (email && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw new ConfigError('WEIR_BOOTSTRAP_ADMIN_EMAIL', 'an email address', email);
  if (password !== undefined && password.length > 0 && password.length < 10)
    throw new ConfigError('WEIR_BOOTSTRAP_ADMIN_PASSWORD', 'at least 10 characters', '<hidden>');
  const insecureDisabled = r.oneOf('WEIR_INSECURE_DISABLE_AUTH', 'false', ['true', 'false'] as const) === 'true';
  const host = r.string('WEIR_HOST', '127.0.0.1');
  if (insecureDisabled && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new ConfigError(
      'WEIR_INSECURE_DISABLE_AUTH',
      'WEIR_HOST to be a loopback address when authentication is disabled',
      host,
    );
  }
  const invitationTtlMs = r.duration('WEIR_INVITATION_TTL', 7 * 86_400_000, 60_000);
  if (invitationTtlMs > 365 * 86_400_000)
    throw new ConfigError('WEIR_INVITATION_TTL', 'a duration of at most 365d', env.WEIR_INVITATION_TTL ?? '');
  return {
    jwtSecret,
    accessTokenTtlSeconds: r.int('WEIR_ACCESS_TOKEN_TTL_SECONDS', 900, 10, 86_400),
    refreshTokenTtlSeconds: r.int('WEIR_REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
    invitationTtlSeconds: Math.round(invitationTtlMs / 1000),
    bootstrapAdmin: email && password ? { email: email.toLowerCase(), password } : null,
    metricsToken: env.WEIR_METRICS_TOKEN?.trim() || null,
    cookieSecure: r.oneOf('WEIR_COOKIE_SECURE', 'true', ['true', 'false'] as const) === 'true',
    insecureDisabled,
  };
}
