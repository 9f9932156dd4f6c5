// Splits a byte stream into raw SSE events (the text up to and including the blank line that ends
// each), incrementally: a push costs O(chunk), a partial event is carried to the next push. The raw
// text is kept so an event nothing changed is forwarded byte for byte.
import { StringDecoder } from 'node:string_decoder';

export interface RawEvent {
  /** The event's text including its terminating blank line */
  raw: string;
  /** `event:` field, null when absent */
  event: string | null;
  /** `data:` lines joined with '\n'; null when the event has none (a comment, a keep-alive) */
  data: string | null;
}

const END = /\r?\n\r?\n/g;

export class SseSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  push(chunk: Buffer): RawEvent[] {
    const from = Math.max(0, this.pending.length - 3);
    this.pending += this.decoder.write(chunk);
    return this.take(from);
  }

  /** What is left when the stream ends (an event without its blank line), as one raw piece. */
  end(): string {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest;
  }

  private take(from: number): RawEvent[] {
    const out: RawEvent[] = [];
    let start = 0;
    END.lastIndex = from;
    for (let m = END.exec(this.pending); m; m = END.exec(this.pending)) {
      const end = m.index + m[0].length;
      out.push(parseEvent(this.pending.slice(start, end)));
      start = end;
    }
    if (start > 0) this.pending = this.pending.slice(start);
    return out;
  }
}

export function parseEvent(raw: string): RawEvent {
  let event: string | null = null;
  let data: string | null = null;
  for (const l of raw.split('\n')) {
    const line = l.endsWith('\r') ? l.slice(0, -1) : l;
    if (line === '' || line.charCodeAt(0) === 58) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data = data === null ? value : data + '\n' + value;
  }
  return { raw, event, data };
}
