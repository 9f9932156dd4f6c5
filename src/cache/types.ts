// The response cache port (issue 17). A cached reply is what the caller got, in the form it got it:
// the JSON body of a non-streamed reply, or the complete SSE bytes of a streamed one (a streaming
// request and a non-streaming one never share an entry: the stream flag is part of the key).

export interface CachedReply {
  kind: 'json' | 'sse';
  body: Buffer;
}

export interface ResponseCacheStore {
  /** The entry, or null when there is none (absent or expired). Throws when the store is unreachable. */
  get(key: string): Promise<CachedReply | null>;
  /** Stores an entry for `ttlMs`; an entry larger than the store's bound is silently not kept. */
  set(key: string, reply: CachedReply, ttlMs: number): Promise<void>;
  close(): Promise<void>;
  /** One line for the start log (`cache: memory LRU 64 MiB`) */
  describe(): string;
}
