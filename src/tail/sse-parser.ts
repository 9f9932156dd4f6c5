// Incremental Server-Sent Events parser (the WHATWG event-stream format): feed it text as it
// arrives, in chunks cut anywhere, and it hands back complete events. Comments (`: ping`) are
// reported separately so a client can treat them as liveness without treating them as data.

export interface SseEvent {
  /** `event:` field; "message" when absent, as the spec says */
  event: string;
  /** `data:` lines joined with "\n" */
  data: string;
  id?: string;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private dataLines: string[] = [];
  private id: string | undefined;
  /** A chunk ended in "\r": if the next starts with "\n" it is the same line break. */
  private pendingCr = false;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onComment: (text: string) => void = () => {},
  ) {}

  push(chunk: string): void {
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf('\n', start);
      const cr = this.buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < this.buffer.length) {
          next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
        } else {
          next = cr + 1;
          this.pendingCr = true;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.line(this.buffer.slice(start, end));
      start = next;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** Forget a partial event, e.g. after the connection dropped mid-event. */
  reset(): void {
    this.buffer = '';
    this.event = '';
    this.dataLines = [];
    this.id = undefined;
    this.pendingCr = false;
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        this.id = value;
        break;
      default:
        // `retry` and unknown fields: nothing to do for this client.
        break;
    }
  }

  private dispatch(): void {
    if (this.dataLines.length > 0) {
      const event: SseEvent = { event: this.event || 'message', data: this.dataLines.join('\n') };
      if (this.id !== undefined) event.id = this.id;
      this.onEvent(event);
    }
    this.event = '';
    this.dataLines = [];
  }
}
