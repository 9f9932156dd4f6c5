// The "dual-write" copy of a forwarded chat completions stream. While forwarding, each chunk is only
// appended to a bounded list (O(1) per chunk, no parsing on the forwarding path); the reply (text, tool
// calls, finish reason, usage, whether `[DONE]` arrived) is rebuilt from the copy once, at the end.
import type { CanonicalToolCall, ReplyFacts, StreamReassembler } from '../types.js';
import { usageFromOpenAI, type RawUsage } from './usage.js';

interface ChunkEvent {
  id?: unknown;
  choices?: {
    delta?: { content?: unknown; tool_calls?: { index?: number; id?: unknown; function?: { name?: unknown; arguments?: unknown } }[] };
    finish_reason?: string | null;
  }[];
  usage?: RawUsage | null;
  error?: { message?: unknown };
}

export function createReassembler(maxBytes: number): StreamReassembler {
  return boundedSseCopy(maxBytes, parseChatSse);
}

/** Enough of the stream's end to hold `data: [DONE]` and the blank lines around it. */
const TAIL_BYTES = 64;
const DONE_AT_END = /(^|\n)data: ?\[DONE\]\s*$/;

/**
 * A reassembler that keeps a bounded copy of the stream (O(1) per chunk) and parses it once, at the
 * end, with `parse`. Shared by the OpenAI protocols whose streams are `data:` lines ending in `[DONE]`.
 * Whether the stream ended with `[DONE]` is read from its last bytes, kept past the bound too, so a
 * long reply that was truncated for the checkpoint is still known to be complete; `[DONE]` that is
 * not the last event does not count.
 */
export function boundedSseCopy(maxBytes: number, parse: (body: string) => ReplyFacts): StreamReassembler {
  const chunks: Buffer[] = [];
  let tail: Buffer = Buffer.alloc(0);
  let bytes = 0;
  let kept = 0;
  let truncated = false;
  return {
    push(chunk: Buffer): void {
      bytes += chunk.length;
      // A reference to the chunk in the common case; a small copy only when chunks are tiny.
      tail = chunk.length >= TAIL_BYTES ? chunk : Buffer.concat([tail.subarray(-TAIL_BYTES), chunk]).subarray(-TAIL_BYTES);
      if (truncated) return;
      if (kept + chunk.length > maxBytes) {
        truncated = true;
        return;
      }
      kept += chunk.length;
      chunks.push(chunk);
    },
    finish() {
      const completed = DONE_AT_END.test(tail.subarray(-TAIL_BYTES).toString('latin1'));
      return { ...parse(Buffer.concat(chunks).toString('utf8')), completed, truncated, bytes };
    },
  };
}

/** The JSON events of an SSE body of `data:` lines; `done` when `data: [DONE]` arrived. */
export function sseDataEvents<T>(body: string): { events: T[]; done: boolean } {
  const events: T[] = [];
  let done = false;
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '') continue;
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    try {
      events.push(JSON.parse(data) as T);
    } catch {
      // a partial last line of a cut stream
    }
  }
  return { events, done };
}

/** Parses a complete (or cut) SSE body of chat.completion.chunk events. */
export function parseChatSse(body: string): ReplyFacts {
  let text = '';
  let sawText = false;
  let finishReason: string | null = null;
  let usage: ReplyFacts['usage'] = null;
  let streamError: string | null = null;
  let responseId: string | null = null;
  const calls: CanonicalToolCall[] = [];
  const { events, done } = sseDataEvents<ChunkEvent>(body);
  for (const ev of events) {
    if (responseId === null && typeof ev.id === 'string') responseId = ev.id;
    if (ev.error) streamError = typeof ev.error.message === 'string' ? ev.error.message : 'stream error';
    const choice = ev.choices?.[0];
    if (choice) {
      const delta = choice.delta;
      if (typeof delta?.content === 'string') {
        text += delta.content;
        sawText = true;
      }
      if (Array.isArray(delta?.tool_calls)) {
        for (const d of delta.tool_calls) {
          const i = typeof d.index === 'number' ? d.index : calls.length;
          const call = (calls[i] ??= { id: '', name: '', arguments: '' });
          if (typeof d.id === 'string') call.id = d.id;
          if (typeof d.function?.name === 'string') call.name += d.function.name;
          if (typeof d.function?.arguments === 'string') call.arguments += d.function.arguments;
        }
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    if (ev.usage) usage = usageFromOpenAI(ev.usage);
  }
  return { text: sawText ? text : null, toolCalls: calls.filter(Boolean), finishReason, usage, streamError, completed: done, responseId };
}
