// Writing many lines to stdout without holding them: each write waits for 'drain' when the pipe is full.
import type { Writable } from 'node:stream';

export async function writeLines(out: Writable, lines: AsyncIterable<string>): Promise<number> {
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!out.write(line + '\n')) await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        out.off('drain', done);
        out.off('error', done);
        if (err) reject(err);
        else resolve();
      };
      out.once('drain', () => done());
      out.once('error', done);
    });
  }
  return n;
}
