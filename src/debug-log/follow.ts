// Reading the request debug log for `ibex logs --requests`: the rotated files oldest first, then the
// current one; with follow, new lines as they are written (polled; a rotation is noticed by the file
// getting smaller or changing identity, and reading starts again at its beginning).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

export function rotatedFiles(path: string, keep = 9): string[] {
  const out: string[] = [];
  for (let i = keep; i >= 1; i--) if (existsSync(`${path}.${i}`)) out.push(`${path}.${i}`);
  if (existsSync(path)) out.push(path);
  return out;
}

function readFrom(path: string, offset: number): { text: string; size: number } {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    if (size <= offset) return { text: '', size };
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return { text: buf.toString('utf8'), size };
  } finally {
    closeSync(fd);
  }
}

export interface FollowOptions {
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Writes what is there, then (follow) new complete lines until the signal aborts. */
export async function printLog(path: string, write: (s: string) => void, follow: boolean, opts: FollowOptions = {}): Promise<void> {
  for (const f of rotatedFiles(path)) {
    if (f === path) continue;
    write(readFrom(f, 0).text);
  }
  let offset = 0;
  let ino = -1;
  let partial = '';
  const step = () => {
    if (!existsSync(path)) return;
    const st = statSync(path);
    if (st.ino !== ino || st.size < offset) {
      ino = st.ino;
      offset = 0;
      partial = '';
    }
    const r = readFrom(path, offset);
    offset = r.size;
    const text = partial + r.text;
    const cut = text.lastIndexOf('\n') + 1;
    // whole lines only: a line being written is printed when it is complete
    write(text.slice(0, cut));
    partial = text.slice(cut);
  };
  step();
  if (!follow) {
    if (partial) write(partial + '\n');
    return;
  }
  const interval = opts.intervalMs ?? 250;
  while (!opts.signal?.aborted) {
    await new Promise((r) => setTimeout(r, interval));
    step();
  }
}
