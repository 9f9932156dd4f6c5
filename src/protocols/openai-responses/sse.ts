// An incremental Server-Sent Events decoder over raw bytes. Chunks may split anywhere (mid-line, mid
// UTF-8 character): bytes are held until a '\n' completes a line (0x0A never occurs inside a multi-byte
// character), so each push costs O(chunk) plus the lines it completes. The bytes held for the event
// being read are bounded: an event larger than `maxEventBytes` is dropped, only its name is kept.

export interface SseEvent {
  /** The `event:` field, null when absent */
  event: string | null;
  /** The `data:` lines joined with '\n'; null when the event was dropped for its size */
  data: string | null;
  /** true for an event the body ended in (no blank line closed it): it may be cut */
  unterminated?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;

export class SseDecoder {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private name: string | null = null;
  private data: string[] = [];
  private dataBytes = 0;
  private hasData = false;
  /** The current event went over the bound: its lines are skipped up to the blank line that ends it */
  private dropping = false;
  private dropLineHasContent = false;
  /** true once any event was dropped for its size */
  overflowed = false;

  constructor(private readonly maxEventBytes = Number.POSITIVE_INFINITY) {}

  push(chunk: Buffer): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      if (!this.dropping && !this.hold(piece)) this.startDropping();
      if (this.dropping) {
        if (hasContent(piece)) this.dropLineHasContent = true;
        if (nl === -1) break;
        if (!this.dropLineHasContent) this.dispatch(out); // the blank line that ends the dropped event
        this.dropLineHasContent = false;
      } else {
        if (nl === -1) break;
        const line = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
        this.carry = [];
        this.carryBytes = 0;
        this.line(line, out);
      }
      start = nl + 1;
    }
    return out;
  }

  /** Ends the body: the event it ended in, if any, marked `unterminated`. */
  flush(): SseEvent[] {
    const out: SseEvent[] = [];
    if (!this.dropping && this.carry.length > 0) {
      const line = Buffer.concat(this.carry);
      this.carry = [];
      this.carryBytes = 0;
      this.line(line, out);
    }
    this.dispatch(out, true);
    return out;
  }

  /** Keeps the bytes of a line being read; false when the event would go over the bound. */
  private hold(bytes: Buffer): boolean {
    if (bytes.length === 0) return true;
    if (this.carryBytes + this.dataBytes + bytes.length > this.maxEventBytes) return false;
    this.carry.push(bytes);
    this.carryBytes += bytes.length;
    return true;
  }

  private startDropping(): void {
    this.overflowed = true;
    this.dropping = true;
    this.dropLineHasContent = true; // the line that went over is not blank
    this.carry = [];
    this.carryBytes = 0;
    this.data = [];
    this.dataBytes = 0;
  }

  private line(raw: Buffer, out: SseEvent[]): void {
    let line = raw.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(':')) return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.name = value;
    else if (field === 'data') {
      this.data.push(value);
      this.dataBytes += raw.length;
      this.hasData = true;
    }
  }

  private dispatch(out: SseEvent[], unterminated = false): void {
    const extra = unterminated ? { unterminated: true } : {};
    if (this.dropping) out.push({ event: this.name, data: null, ...extra });
    else if (this.hasData) out.push({ event: this.name, data: this.data.join('\n'), ...extra });
    this.name = null;
    this.data = [];
    this.dataBytes = 0;
    this.hasData = false;
    this.dropping = false;
    this.dropLineHasContent = false;
  }
}

function hasContent(piece: Buffer): boolean {
  for (let i = 0; i < piece.length; i++) if (piece[i] !== CR) return true;
  return false;
}
