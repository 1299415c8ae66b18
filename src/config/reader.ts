/** What the server's and the CLI's config share: the error a wrong value stops with, and typed readers of WEIR_* values. */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string,
  ) {
    super(`${variable}: expected ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'ConfigError';
  }
}

/** The environment as config reads it (process.env, or a test's own). */
export type Env = Record<string, string | undefined>;

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `1048576`, `512MB`, `5 GiB` → bytes. */
export function parseByteSize(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `15m`, `72h`, `7d` (a unit is required) → ms. */
export function parseDuration(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(raw);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** Reads WEIR_* variables: each value trimmed (blank = unset), parsed, and refused with a ConfigError naming it. */
export class Reader {
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new ConfigError(name, `an integer from ${min} to ${max}`, v);
    return n;
  }

  bytes(name: string, fallback: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = parseByteSize(v);
    if (n === undefined) throw new ConfigError(name, 'a positive byte size such as 1048576, 512MB or 5GiB', v);
    return n;
  }

  /** `500ms`, `30s`, `15m`, `72h`, `7d` → ms. */
  duration(name: string, fallback: number, minMs: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = parseDuration(v);
    if (n === undefined || n < minMs)
      throw new ConfigError(name, `a duration of at least ${minMs} ms such as 500ms, 30s, 15m, 72h or 7d`, v);
    return n;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const lower = v.toLowerCase() as T;
    if (!allowed.includes(lower)) throw new ConfigError(name, `one of ${allowed.join(', ')}`, v);
    return lower;
  }

  list(name: string): string[] {
    const v = this.raw(name);
    return v === undefined
      ? []
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  }
}
