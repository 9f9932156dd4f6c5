// One message of a conversation as the ledger stores it: its JSON text exactly as it was inside the
// body sent upstream, and the SHA-256 of that text as its address. Keys keep the caller's order
// (not sorted): sorting would make the stored text differ from what was sent, and replay must
// rebuild the sent bytes exactly (docs/adr/0010-content-addressed-ledger.md). A client serialises a
// given message the same way on every turn, so the history still dedupes.
import { createHash } from 'node:crypto';
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

export function messageBody(m: unknown): MessageBody {
  const body = messageText(m);
  return { hash: createHash('sha256').update(body).digest('hex'), body, bytes: Buffer.byteLength(body) };
}
