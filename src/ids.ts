import { randomFillSync } from 'node:crypto';

/**
 * Sortable, prefixed ids (`ds_01J…`): a ULID body, 48 bits of milliseconds then 80 random bits in Crockford
 * base32, so ids sort by creation time as strings, in both SQLite and PostgreSQL.
 */
export type IdPrefix =
  | 'ws'
  | 'ds'
  | 'dv'
  | 'job'
  | 'up'
  | 'mdl'
  | 'mv'
  | 'usr'
  | 'key'
  | 'req'
  | 'ses'
  | 'aud'
  | 'pl'
  | 'run'
  | 'inv'
  | 'con'
  | 'cs'
  | 'seg';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newId(prefix: IdPrefix, now = Date.now()): string {
  // Monotonic within the process, as ULID's monotonic mode: an id made in the same millisecond as the last one
  // (or while the clock stepped back) keeps that millisecond and adds one to the random part, so ids made one
  // after another sort in the order they were made. Queues rely on it for first-in-first-out at equal priority.
  if (now <= lastTime) {
    let i = lastRand.length - 1;
    while (i >= 0 && lastRand[i] === 31) lastRand[i--] = 0;
    // 80 random bits overflowing within one millisecond: start a fresh random part (order is lost, never uniqueness).
    if (i < 0) freshRandom();
    else {
      lastRand[i]! += 1;
      if (i < lastRand.length - 1) randHead = encodeHead();
    }
  } else {
    lastTime = now;
    timeText = encodeTime(now);
    freshRandom();
  }
  return `${prefix}_${timeText}${randHead}${ALPHABET[lastRand[lastRand.length - 1]!]}`;
}

let lastTime = -1;
const lastRand = new Array<number>(16).fill(0);
// One id is made per request: the encoded time and all but the last random digit are kept between calls, as
// most ids of a busy millisecond differ from the one before only in that digit.
let timeText = '';
let randHead = '';

function freshRandom(): void {
  for (let j = 0; j < lastRand.length; j++) lastRand[j] = randomByte() % 32;
  randHead = encodeHead();
}

function encodeTime(ms: number): string {
  let time = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  return time;
}

function encodeHead(): string {
  let head = '';
  for (let j = 0; j < lastRand.length - 1; j++) head += ALPHABET[lastRand[j]!]!;
  return head;
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
export const isId = (prefix: IdPrefix, value: string): boolean =>
  ID_PATTERN.test(value) && value.startsWith(`${prefix}_`);
