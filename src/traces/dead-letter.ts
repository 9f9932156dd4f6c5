// Items a store refused (it answered, and said no because of what was in them: see
// src/stores/errors.ts) are set aside here instead of being retried forever, which would block
// every item queued behind them. One JSONL file per isolated batch, under `<spoolDir>/dead/`:
//
//   {"at":"2025-01-31T12:00:00.000Z","queue":"checkpoints","error":"invalid byte sequence …","code":"22021","item":{…}}
//
// Files are written like spool files (util/durable-file.ts; mode 0600, folder 0700) and never
// read back by ibex: they are for a human (docs/operations.md says how to inspect and replay them).
// The folder is capped (maxBytes): a flood of bad items must not fill the disk.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../util/durable-file.js';
import { storeErrorCode } from '../stores/errors.js';

export interface DeadLetter<T> {
  item: T;
  /** Why the store refused it (the error of the write of this item alone) */
  error: unknown;
}

export class DeadLetterFullError extends Error {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`dead-letter folder full: ${bytes} + batch would exceed ${maxBytes} bytes`);
    this.name = 'DeadLetterFullError';
  }
}

export class DeadLetterFolder {
  /** Bytes of this queue's files in the folder; counted on first use. */
  private bytes: number | null = null;

  constructor(
    readonly dir: string,
    readonly name: string,
    readonly maxBytes: number,
  ) {}

  /** Writes the letters durably to a new file; returns its path. Throws DeadLetterFullError or the fs error. */
  async write(letters: DeadLetter<unknown>[]): Promise<string> {
    const at = new Date().toISOString();
    let text = '';
    for (const { item, error } of letters) {
      const record = { at, queue: this.name, error: errorText(error), code: storeErrorCode(error), item };
      let line: string | undefined;
      try {
        line = JSON.stringify(record);
      } catch {
        line = undefined;
      }
      // An item JSON cannot represent (BigInt, cycle) is still recorded, without its body.
      text += (line ?? JSON.stringify({ ...record, item: null, unserializable: true })) + '\n';
    }
    const body = Buffer.from(text, 'utf8');
    const used = await this.used();
    if (used + body.length > this.maxBytes) throw new DeadLetterFullError(used, this.maxBytes);

    const file = `${this.name}.${at.replace(/[-:.]/g, '')}.${process.pid}-${randomBytes(4).toString('hex')}.jsonl`;
    await writeFileDurably(this.dir, file, body);
    const full = join(this.dir, file);
    this.bytes = used + body.length;
    return full;
  }

  private async used(): Promise<number> {
    if (this.bytes !== null) return this.bytes;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700).catch(() => undefined);
    let total = 0;
    for (const f of await readdir(this.dir)) {
      if (!f.startsWith(`${this.name}.`)) continue;
      const st = await stat(join(this.dir, f)).catch(() => null);
      if (st?.isFile()) total += st.size;
    }
    this.bytes = total;
    return total;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
