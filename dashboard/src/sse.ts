// A small server-sent-events client over fetch(): EventSource cannot send an Authorization header,
// and the admin token must not go in a URL. Reconnects with exponential backoff.

export interface SseEvent {
  event: string;
  data: string;
}

/** Incremental SSE parser (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  /** Feeds a chunk of text; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (!m || (m[0] === '\r' && m.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return null;
      }
      const ev = { event: this.event || 'message', data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      return ev;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    return null;
  }
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StreamOptions {
  url: string;
  token: () => string | null;
  onEvent(ev: SseEvent): void;
  onState(state: StreamState, detail?: string): void;
  /** The token was refused: the stream stops for good. */
  onUnauthorized(): void;
}

/** Opens the stream and keeps it open until the returned function is called. */
export function openStream(opts: StreamOptions): () => void {
  let stopped = false;
  let ctl: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let attempt = 0;

  const run = async () => {
    if (stopped) return;
    ctl = new AbortController();
    opts.onState(attempt === 0 ? 'connecting' : 'reconnecting');
    try {
      const res = await fetch(opts.url, {
        headers: { authorization: `Bearer ${opts.token() ?? ''}`, accept: 'text/event-stream' },
        signal: ctl.signal,
        cache: 'no-store',
      });
      if (res.status === 401 || res.status === 403) {
        stopped = true;
        opts.onState('stopped', 'token refused');
        opts.onUnauthorized();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`status ${res.status}`);
      attempt = 0;
      opts.onState('live');
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const ev of parser.push(value)) opts.onEvent(ev);
      }
      throw new Error('stream ended');
    } catch (err) {
      if (stopped) return;
      attempt++;
      // 0.5 s, 1 s, 2 s, … up to 15 s, with jitter so many tabs do not reconnect in step.
      const delay = Math.min(15_000, 500 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      opts.onState('reconnecting', `${(err as Error).message}; retrying in ${Math.round(delay / 100) / 10} s`);
      timer = setTimeout(() => void run(), delay);
    }
  };
  void run();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    ctl?.abort();
    opts.onState('stopped');
  };
}
