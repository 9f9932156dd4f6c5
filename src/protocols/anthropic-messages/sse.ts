// Incremental SSE reading and writing for the module's stream reassembler and translators. Bytes may
// be split anywhere (mid-line, mid-UTF-8 character); each push costs O(chunk): a partial line is kept
// as a list of pieces and joined once, when its newline arrives.
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  /** The `event:` field, or null when the event had none (OpenAI chat streams never name theirs) */
  event: string | null;
  /** The `data:` lines joined by '\n' */
  data: string;
}

export interface SseReader {
  /** Feeds bytes; calls onEvent for every event completed by them. */
  push(chunk: Buffer | string): void;
  /** Flushes an event left unterminated by the end of the stream (a final line without '\n\n'). */
  end(): void;
}

export interface SseReaderOptions {
  /**
   * Lines longer than this (in UTF-16 units) are dropped rather than buffered, so one endless line
   * cannot grow memory without bound; onOversize is told once per dropped line.
   */
  maxLineChars?: number;
  onOversize?: () => void;
  /**
   * Asked with the event name before a data line is kept; false skips it unbuffered (the
   * reassembler uses this to stop holding deltas it would throw away past its byte bound).
   */
  wantData?: (event: string | null) => boolean;
}

export function createSseReader(onEvent: (ev: SseEvent) => void, opts: SseReaderOptions = {}): SseReader {
  const decoder = new StringDecoder('utf8');
  const maxLine = opts.maxLineChars ?? Infinity;
  let pending: string[] = [];
  let pendingLen = 0;
  let dropping = false;
  let event: string | null = null;
  let data: string[] = [];
  let hasData = false;

  const dispatch = () => {
    if (hasData) onEvent({ event, data: data.join('\n') });
    event = null;
    data = [];
    hasData = false;
  };

  const line = (raw: string) => {
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l === '') return dispatch();
    if (l.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = l.indexOf(':');
    const field = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? '' : l.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      hasData = true;
      if (!opts.wantData || opts.wantData(event)) data.push(value);
    }
  };

  const text = (s: string) => {
    let start = 0;
    for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', start)) {
      const piece = s.slice(start, nl);
      start = nl + 1;
      if (dropping) {
        dropping = false;
        pending = [];
        pendingLen = 0;
        continue;
      }
      if (pendingLen > 0) {
        pending.push(piece);
        line(pending.join(''));
        pending = [];
        pendingLen = 0;
      } else line(piece);
    }
    if (start < s.length && !dropping) {
      const rest = s.slice(start);
      pending.push(rest);
      pendingLen += rest.length;
      if (pendingLen > maxLine) {
        dropping = true;
        pending = [];
        pendingLen = 0;
        opts.onOversize?.();
      }
    }
  };

  return {
    push(chunk) {
      text(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    },
    end() {
      const tail = decoder.end();
      if (tail) text(tail);
      if (pendingLen > 0 && !dropping) line(pending.join(''));
      pending = [];
      pendingLen = 0;
      dispatch();
    },
  };
}

/** One named SSE event, as Anthropic writes them. */
export function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** One unnamed SSE event, as OpenAI chat completions write them. */
export function sseData(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** JSON.parse that answers undefined instead of throwing (a cut or foreign line is skipped, not fatal). */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
