// Ids ibex generates for the rows it writes on every request (request ids, session ids) start with the
// time, so each new row lands at the end of its B-tree indexes instead of on a random page. With fully
// random ids every insert dirtied a different leaf page of each index and SQLite's write-behind spent
// 2–5× the CPU per row (bench/BENCHMARKS.md, "time-ordered ids"); Postgres indexes behave the same way.
// The rest stays random (74 bits for a request id, 80 for a session id), so ids are still unguessable;
// what they reveal is the millisecond they were made, which traces and checkpoints record anyway.
import { randomFillSync } from 'node:crypto';

// Random bytes are drawn in blocks, as randomUUID does: one call into the CSPRNG per 256 ids.
const ID_RANDOM_BYTES = 10;
const pool = Buffer.alloc(ID_RANDOM_BYTES * 256);
let poolAt = pool.length;

/** Offset of 10 fresh random bytes in `pool`. */
function takeRandom(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += ID_RANDOM_BYTES;
  return at;
}

let lastMs = -1;
let lastHex = '';

/**
 * The current Unix time in ms as 12 hex digits (48 bits, as in UUIDv7: good until the year 10889).
 * Kept per millisecond: Number#toString(16) costs ~0.5 µs, and a busy gateway makes many ids per ms.
 */
function timeHex(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastHex = ms.toString(16).padStart(12, '0');
  }
  return lastHex;
}

/** An RFC 9562 version-7 UUID: 48 bits of Unix ms, the version, 74 random bits and the variant. */
export function uuidV7(): string {
  const at = takeRandom();
  pool[at] = (pool[at]! & 0x0f) | 0x70; // version 7 in the top nibble of rand_a
  pool[at + 2] = (pool[at + 2]! & 0x3f) | 0x80; // variant 10
  const r = pool.toString('hex', at, at + ID_RANDOM_BYTES);
  const t = timeHex();
  return `${t.slice(0, 8)}-${t.slice(8)}-${r.slice(0, 4)}-${r.slice(4, 8)}-${r.slice(8)}`;
}

/** 32 hex digits: the time (12) then 80 random bits (20). */
export function timeOrderedHex32(): string {
  const at = takeRandom();
  return timeHex() + pool.toString('hex', at, at + ID_RANDOM_BYTES);
}
