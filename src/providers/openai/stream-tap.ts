// The "dual-write" copy of a forwarded SSE stream. While forwarding, each chunk is only appended to a
// bounded list (O(1) per chunk, no parsing on the forwarding path); the reply is reassembled from the
// copy after the stream ended, for the session checkpoint.
import type { Usage } from '../../stores/ports.js';

export interface ReassembledReply {
  text: string;
  finishReason: string | null;
  usage: Usage | null;
  /** true when the copy hit its byte bound and the reply text is incomplete */
  truncated: boolean;
  /** an `error` object the upstream sent inside the stream, if any */
  streamError: string | null;
  /** true when the stream's last event was `data: [DONE]`: it ended as the provider meant it to */
  done: boolean;
}

/** Enough of the stream's end to hold `data: [DONE]` and the blank lines around it. */
const TAIL_BYTES = 64;
const DONE_AT_END = /(^|\n)data: ?\[DONE\]\s*$/;

export class StreamTap {
  private readonly chunks: Buffer[] = [];
  /** The last bytes seen, kept past the bound too: whether the stream ended with [DONE] */
  private tail: Buffer = Buffer.alloc(0);
  bytes = 0;
  truncated = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    // A reference to the chunk in the common case; a small copy only when chunks are tiny.
    this.tail = chunk.length >= TAIL_BYTES ? chunk : Buffer.concat([this.tail.subarray(-TAIL_BYTES), chunk]).subarray(-TAIL_BYTES);
    if (this.truncated) return;
    if (this.bytes > this.maxBytes) {
      this.truncated = true;
      return;
    }
    this.chunks.push(chunk);
  }

  reassemble(): ReassembledReply {
    const done = DONE_AT_END.test(this.tail.subarray(-TAIL_BYTES).toString('latin1'));
    return { ...parseSse(Buffer.concat(this.chunks).toString('utf8')), truncated: this.truncated, done };
  }
}

/** Parses a complete (or cut) SSE body of chat.completion.chunk events. */
export function parseSse(body: string): Omit<ReassembledReply, 'truncated' | 'done'> {
  let text = '';
  let finishReason: string | null = null;
  let usage: Usage | null = null;
  let streamError: string | null = null;
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '' || data === '[DONE]') continue;
    let ev: ChunkEvent;
    try {
      ev = JSON.parse(data) as ChunkEvent;
    } catch {
      continue; // a partial last line of a cut stream
    }
    if (ev.error) streamError = typeof ev.error.message === 'string' ? ev.error.message : 'stream error';
    const choice = ev.choices?.[0];
    if (choice) {
      if (typeof choice.delta?.content === 'string') text += choice.delta.content;
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    if (ev.usage) usage = toUsage(ev.usage);
  }
  return { text, finishReason, usage, streamError };
}

interface ChunkEvent {
  choices?: { delta?: { content?: unknown }; finish_reason?: string | null }[];
  usage?: RawUsage;
  error?: { message?: unknown };
}

export interface RawUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export function toUsage(u: RawUsage | undefined | null): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const prompt = Number(u.prompt_tokens ?? 0) || 0;
  const completion = Number(u.completion_tokens ?? 0) || 0;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: Number(u.total_tokens ?? prompt + completion) || 0 };
}
