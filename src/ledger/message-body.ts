// One message of a conversation as the ledger stores it: its JSON text exactly as it was inside the
// body sent upstream, and the SHA-256 of that text as its address. Keys keep the caller's order
// (not sorted): sorting would make the stored text differ from what was sent, and replay must
// rebuild the sent bytes exactly (docs/adr/0010-content-addressed-ledger.md). A client serialises a
// given message the same way on every turn, so the history still dedupes.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { storeJson } from '../stores/store-text.js';

export interface MessageBody {
  /** hex SHA-256 of `body` */
  hash: string;
  /** JSON text of the message (cleaned of NUL / lone-surrogate escapes, see store-text.ts) */
  body: string;
  /** UTF-8 bytes of body */
  bytes: number;
}

/** The stored JSON text of one message. `undefined` (not JSON) is stored as null. */
export function messageText(m: unknown): string {
  return storeJson(JSON.stringify(m) ?? 'null');
}

// Every turn of a conversation resends its whole history, so a store hashes the same texts again and
// again (a 20-turn chat: 40 messages per turn, 2 of them new; the directive on every turn of every
// session). Recent texts keep their hash here: a lookup is a fraction of a SHA-256. Bounded in entries
// and in the length of a text kept, so at most 8 M characters (8–16 MB).
const HASH_CACHE_ENTRIES = 1024;
const HASH_CACHE_MAX_TEXT = 8 * 1024;
const recentHashes = new LRUCache<string, string>({ max: HASH_CACHE_ENTRIES });

function sha256Hex(text: string): string {
  const cached = recentHashes.get(text);
  if (cached !== undefined) return cached;
  const hash = createHash('sha256').update(text).digest('hex');
  if (text.length <= HASH_CACHE_MAX_TEXT) recentHashes.set(text, hash);
  return hash;
}

/** The ledger's record of one message, from its stored text (messageText). */
export function messageBody(body: string): MessageBody {
  return { hash: sha256Hex(body), body, bytes: Buffer.byteLength(body) };
}

/**
 * The stored texts of a checkpoint's messages, in order: the recorder's (it makes them anyway, for
 * the body template), else made here (a checkpoint spooled by an older version).
 */
export function checkpointMessageTexts(c: { messages?: readonly unknown[]; messageTexts?: readonly string[] }): readonly string[] {
  return c.messageTexts ?? (c.messages ?? []).map(messageText);
}
