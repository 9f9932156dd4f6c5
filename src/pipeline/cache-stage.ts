// The response cache stage (issue 17), opt-in per agent (`agents.<name>.cache: { ttl }` in ibex.yaml).
// What the core calls, around forward:
//   cacheLookup   after inject: the key of the outgoing request; a hit is replayed instead of forwarding
//   replayCached  sends a hit: the JSON as it was, or the stored SSE bytes as a stream of the protocol
//   cacheCapture  wraps the chunk transform to copy a streamed reply (bounded by the max entry size)
//   cacheStore    after a complete 2xx reply: stores it (never an error, a cut or a stopped stream)
// Every caller of a cached agent gets `x-ibex-cache: hit|miss`.
import { performance } from 'node:perf_hooks';
import type { FastifyReply } from 'fastify';
import type { AgentFileConfig } from '../config/types.js';
import type { CachedReply, ResponseCacheStore } from '../cache/types.js';
import { cacheKey, policiesFingerprint } from '../cache/key.js';
import type { InboundProtocol, ReplyFacts } from '../protocols/types.js';
import type { CacheStatus } from '../stores/ports.js';
import type { ChunkTransform } from '../policies/stream/index.js';
import type { RequestContext, StageName } from './context.js';

export interface CacheStage {
  store: ResponseCacheStore;
  getAgentConfig(agent: string): AgentFileConfig | undefined | null;
  /** Largest reply kept (bytes) */
  maxEntryBytes: number;
  /** A store that fails is a miss; this hears about it (throttle there) */
  onError?(err: unknown): void;
}

export interface CacheLookup {
  key: string;
  ttlMs: number;
  hit: CachedReply | null;
  /** The streamed reply as sent, while it fits */
  captured: Buffer[];
  capturedBytes: number;
  overflow: boolean;
}

const lookups = new WeakMap<RequestContext, CacheLookup>();

/** `hit` / `miss` for a request of a cached agent, null otherwise (trace, checkpoint, OTel, debug log). */
export function cacheStatusOf(ctx: RequestContext): CacheStatus | null {
  const l = lookups.get(ctx);
  return l ? (l.hit ? 'hit' : 'miss') : null;
}

export async function cacheLookup(
  stage: CacheStage | undefined,
  ctx: RequestContext,
  protocol: InboundProtocol,
  provider: string,
  outgoing: string,
  headers: Record<string, string>,
): Promise<CacheLookup | null> {
  if (!stage || !ctx.agent) return null;
  const config = stage.getAgentConfig(ctx.agent.name);
  if (!config?.cache) return null;
  const key = cacheKey({
    agent: ctx.agent.name,
    provider,
    protocol: protocol.name,
    stream: ctx.stream,
    policies: policiesFingerprint(config.policies),
    body: outgoing,
  });
  let hit: CachedReply | null = null;
  try {
    hit = await stage.store.get(key);
    // a stored stream never answers a JSON caller and vice versa (the key has the flag; this is belt and braces)
    if (hit && (hit.kind === 'sse') !== ctx.stream) hit = null;
  } catch (err) {
    stage.onError?.(err);
  }
  const lookup: CacheLookup = { key, ttlMs: config.cache.ttlMs, hit, captured: [], capturedBytes: 0, overflow: false };
  lookups.set(ctx, lookup);
  headers['x-ibex-cache'] = hit ? 'hit' : 'miss';
  ctx.end('cache' as StageName);
  return lookup;
}

/** Sends a cache hit and fills ctx as a forwarded reply would (facts for the checkpoint; no upstream time). */
export async function replayCached(lookup: CacheLookup, ctx: RequestContext, protocol: InboundProtocol, reply: FastifyReply, headers: Record<string, string>): Promise<void> {
  const hit = lookup.hit!;
  const now = performance.now();
  // a zero-length upstream span: the turn is checkpointed like any answered request
  ctx.upstreamStart = ctx.upstreamHeaders = ctx.upstreamEnd = now;
  ctx.status = 200;
  // A stored stream is the provider's, with what ibex asked for itself (the usage chunk of a chat
  // stream): this caller gets it through its own filter, as forward.ts would have sent it.
  const strip = hit.kind === 'sse' ? ctx.streamFilter : null;
  const sent = strip ? Buffer.concat([strip.push(hit.body), strip.end()]) : hit.body;
  ctx.bytesOut = hit.body.length; // as forward.ts counts a stream: what the tap saw
  let facts: ReplyFacts;
  if (hit.kind === 'json') {
    facts = protocol.summarise(JSON.parse(hit.body.toString('utf8')));
  } else {
    const tap = protocol.createReassembler(hit.body.length + 1);
    tap.push(hit.body);
    facts = tap.finish();
  }
  ctx.reply = facts.text !== null ? facts.text : facts.toolCalls.length ? JSON.stringify({ tool_calls: facts.toolCalls }) : null;
  ctx.finishReason = facts.finishReason;
  ctx.usage = facts.usage;
  ctx.responseId = facts.responseId;
  const timing = `overhead;dur=${ctx.overheadMs().toFixed(3)}`;
  if (hit.kind === 'json') {
    await reply.code(200).headers(headers).header('content-type', 'application/json').header('server-timing', timing).send(hit.body);
    return;
  }
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': ctx.correlationId,
    'server-timing': timing,
  });
  raw.end(sent);
}

/**
 * The transform forward applies, plus a bounded copy of what it lets through (a miss of a streamed
 * request): before the caller's filter, so one entry serves callers that asked for usage and not.
 */
export function cacheCapture(lookup: CacheLookup | null, ctx: RequestContext, transform: ChunkTransform | undefined, maxEntryBytes: number): ChunkTransform | undefined {
  if (!lookup || !ctx.stream) return transform;
  const keep = (out: Buffer | null) => {
    if (out && out.length && !lookup.overflow) {
      if (lookup.capturedBytes + out.length > maxEntryBytes) {
        lookup.overflow = true;
        lookup.captured = [];
      } else {
        lookup.captured.push(out);
        lookup.capturedBytes += out.length;
      }
    }
    return out;
  };
  if (!transform) return keep;
  return (chunk) => {
    const r = transform(chunk);
    return r instanceof Promise ? r.then(keep) : keep(r);
  };
}

/** Stores a complete, successful reply (in the background; a store failure only loses the entry). */
export function cacheStore(stage: CacheStage | undefined, lookup: CacheLookup | null, ctx: RequestContext, json: Buffer | null): void {
  if (!stage || !lookup || lookup.hit) return;
  if (ctx.errorCode || ctx.clientAborted || ctx.status !== 200) return;
  let entry: CachedReply | null = null;
  if (json) {
    if (!ctx.stream && json.length <= stage.maxEntryBytes) entry = { kind: 'json', body: json };
  } else if (ctx.stream && !lookup.overflow && lookup.capturedBytes > 0) {
    entry = { kind: 'sse', body: Buffer.concat(lookup.captured, lookup.capturedBytes) };
  }
  lookup.captured = [];
  if (entry) stage.store.set(lookup.key, entry, lookup.ttlMs).catch((err: unknown) => stage.onError?.(err));
}
