// Usage on every chat stream. OpenAI reports a stream's tokens only when the request sets
// `stream_options.include_usage`; without it ibex could neither record nor budget the request. So ibex
// always asks, and when the caller did not, removes the one chunk that asking added — the final
// `{"choices":[],"usage":{…}}` event — from what the caller receives. Every other byte passes as the
// provider sent it (with include_usage OpenAI also writes `"usage":null` into each chunk; clients ignore
// it, and ibex leaves it as it came).
import type { StreamFilter, UpstreamPreparation } from '../types.js';
import type { ChatBody } from './parse.js';

export function prepareUpstream(body: ChatBody): UpstreamPreparation<ChatBody> {
  if (body.stream !== true) return { body };
  const options = body.stream_options;
  const opts = options !== null && typeof options === 'object' && !Array.isArray(options) ? (options as Record<string, unknown>) : {};
  if (opts.include_usage === true) return { body };
  return { body: { ...body, stream_options: { ...opts, include_usage: true } }, strip: new UsageChunkFilter() };
}

const LF_END = Buffer.from('\n\n');
const CRLF_END = Buffer.from('\n\r\n');
/** Only an event holding this can be the usage chunk; others are passed on without being parsed. */
const USAGE_MARK = Buffer.from('"usage":{');
/** A "partial event" this large is not SSE as expected: pass it on rather than hold the stream. */
const MAX_HELD = 256 * 1024;

/** Index just past the last event boundary (blank line, LF or CRLF), or -1. */
function lastBoundary(b: Buffer): number {
  const lf = b.lastIndexOf(LF_END);
  const crlf = b.lastIndexOf(CRLF_END);
  return Math.max(lf < 0 ? -1 : lf + LF_END.length, crlf < 0 ? -1 : crlf + CRLF_END.length);
}

/** Index just past the first event boundary at or after `from`, or the end. */
function nextBoundary(b: Buffer, from: number): number {
  const lf = b.indexOf(LF_END, from);
  const crlf = b.indexOf(CRLF_END, from);
  const ends = [lf < 0 ? Infinity : lf + LF_END.length, crlf < 0 ? Infinity : crlf + CRLF_END.length];
  const end = Math.min(...ends);
  return end === Infinity ? b.length : end;
}

/**
 * Holds back only an incomplete trailing event (bytes after the last blank line), so events are
 * judged whole; a chunk of complete events without a usage object passes as the same Buffer.
 */
export class UsageChunkFilter implements StreamFilter {
  private held: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer {
    const data = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const cut = lastBoundary(data);
    if (cut < 0) {
      if (data.length > MAX_HELD) {
        this.held = Buffer.alloc(0);
        return data;
      }
      this.held = data;
      return Buffer.alloc(0);
    }
    const whole = cut === data.length ? data : data.subarray(0, cut);
    this.held = cut === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(cut));
    return whole.includes(USAGE_MARK) ? dropUsageEvents(whole) : whole;
  }

  end(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    // A stream cut mid-event: what arrived goes on, unless it is (the start of) the usage chunk.
    return rest.includes(USAGE_MARK) && isUsageOnly(rest.toString('utf8')) ? Buffer.alloc(0) : rest;
  }
}

function dropUsageEvents(whole: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  let dropped = false;
  while (start < whole.length) {
    const end = nextBoundary(whole, start);
    const event = whole.subarray(start, end);
    if (event.includes(USAGE_MARK) && isUsageOnly(event.toString('utf8'))) dropped = true;
    else parts.push(event);
    start = end;
  }
  return dropped ? Buffer.concat(parts) : whole;
}

/** A `data:` event whose JSON has an empty `choices` and a usage object: the chunk include_usage adds. */
function isUsageOnly(event: string): boolean {
  const data = event
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).trimStart())
    .join('\n');
  try {
    const v = JSON.parse(data) as { choices?: unknown; usage?: unknown };
    return Array.isArray(v.choices) && v.choices.length === 0 && v.usage !== null && typeof v.usage === 'object';
  } catch {
    return false;
  }
}
