// Which new sessions a canary serves. The bucket of a session is a pure function of its id, so the
// split is sticky (every request of a session, on every replica, lands in the same bucket), needs no
// shared state, and can be tested: over many sessions, PCT % of buckets are below PCT.
//
// FNV-1a spreads the characters over 32 bits; murmur3's finaliser then mixes the low bits, which
// FNV-1a alone leaves poorly distributed for ids that differ only in their last characters
// (`s-1`, `s-2`, … from a client that numbers its sessions).

/** The session's bucket, 0–99. */
export function sessionBucket(sessionId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    h ^= sessionId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 100;
}

/** Whether a canary at `percent` % serves this session. */
export function inCanary(sessionId: string, percent: number): boolean {
  return sessionBucket(sessionId) < percent;
}
