// The request debug log (issue 17): opt-in JSONL of full requests and replies, one line per request,
// apart from the normal log. Every line passes through redact() (log.ts: PATs, provider keys, bearer
// tokens, the process's registered secrets). Writes are buffered by a write stream (never a sync write
// on the request path); past `maxBytes` the file is rotated: requests.jsonl → .1 → .2 … up to `keep`.
import { createWriteStream, mkdirSync, openSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '../log.js';

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_KEEP = 3;

export interface DebugLogOptions {
  maxBytes?: number;
  /** Rotated files kept besides the current one */
  keep?: number;
}

export class RequestDebugLog {
  private stream: WriteStream;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    readonly path: string,
    opts: DebugLogOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.keep = opts.keep ?? DEFAULT_KEEP;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.size = sizeOf(path);
    this.stream = this.open();
  }

  write(record: object): void {
    let line: string;
    try {
      line = redact(JSON.stringify(record)) + '\n';
    } catch {
      return; // a record that cannot be serialised is not worth failing a request for
    }
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    this.stream.write(line);
    this.size += bytes;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }

  private open(): WriteStream {
    // Opened synchronously (rarely: at start and per rotation) so a rename right after moves the file
    // this stream writes to: lines still buffered in the old stream land in the rotated file, in order.
    const fd = openSync(this.path, 'a', 0o600);
    const s = createWriteStream('', { fd });
    s.on('error', () => {}); // a full disk must not take the gateway down
    return s;
  }

  private rotate(): void {
    this.stream.end();
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch {
        // not there yet
      }
    }
    try {
      renameSync(this.path, `${this.path}.1`);
    } catch {
      // removed under us: start afresh
    }
    this.size = 0;
    this.stream = this.open();
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
