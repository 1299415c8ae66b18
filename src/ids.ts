import { randomFillSync } from 'node:crypto';

/**
 * Sortable, prefixed ids (`ds_01J…`): a ULID body, 48 bits of milliseconds then 80 random bits in Crockford
 * base32, so ids sort by creation time as strings, in both SQLite and PostgreSQL.
 */
export type IdPrefix = 'ws' | 'ds' | 'dv' | 'job' | 'up' | 'mdl' | 'usr' | 'key' | 'req' | 'ses' | 'aud' | 'pl' | 'run';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += ALPHABET[randomByte() % 32]!;
  return `${prefix}_${time}${rand}`;
}

// Random bytes are drawn from a pool refilled 4 KiB at a time: one id is made per request, and a call into
// the CSPRNG per id showed up in request profiles.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomByte(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]!;
}

const ID_PATTERN = /^[a-z]{2,3}_[0-9A-HJKMNP-TV-Z]{26}$/;
export const isId = (prefix: IdPrefix, value: string): boolean => ID_PATTERN.test(value) && value.startsWith(`${prefix}_`);
