// The disk half of the write-behind queue: batches the sink did not take wait here, one NDJSON
// file per batch, until they can be replayed. Why one file per batch rather than an append log:
// a batch is deleted only after the sink acked it, and deleting a file is atomic, so there is no
// log to compact and no offset to keep in sync with the sink.
//
// Files are named `<queue>.<seq>.<pid>-<random>.ndjson`. `seq` orders replay; the pid/random part
// keeps two processes sharing a folder from ever overwriting each other's file. A file is written
// to a `.tmp` name, fsync'd, then renamed, so a crash never leaves a half-written batch where replay
// would find it. Mode 0600 (traces carry agent names and ids), folder 0700.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably, writeFileDurablySync } from '../util/durable-file.js';

export interface SpoolEntry {
  seq: number;
  file: string;
  bytes: number;
  /** Items at the start of the file the sink already acknowledged (this process only, not persisted) */
  acked?: number;
}

export class SpoolFullError extends Error {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`spool full: ${bytes} + batch would exceed ${maxBytes} bytes`);
    this.name = 'SpoolFullError';
  }
}

/** What spooling a batch did: the file (null when no item could be serialised) and the items skipped. */
export interface SpoolWrite {
  entry: SpoolEntry | null;
  /** Items JSON cannot represent (BigInt, cycles): they can never be replayed, so they are not written */
  unserializable: number;
}

/** What reading a spooled batch gave: the items, and how many lines could not be parsed. */
export interface SpoolRead<T> {
  items: T[];
  badLines: number;
}

const SEQ_DIGITS = 16;
const STALE_TMP_MS = 60_000;

export class Spool<T> {
  private entries: SpoolEntry[] = [];
  private totalBytes = 0;
  private nextSeq = 1;
  private readonly prefix: string;

  constructor(
    readonly dir: string,
    readonly name: string,
    readonly maxBytes: number,
  ) {
    this.prefix = `${name}.`;
  }

  /** Creates the folder (0700) and indexes batches left by earlier processes, oldest first. */
  async init(): Promise<{ batches: number; bytes: number }> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // mkdir's mode does not apply to a folder that already existed; tighten it anyway.
    await chmod(this.dir, 0o700).catch(() => undefined);
    const names = await readdir(this.dir);
    const found: SpoolEntry[] = [];
    for (const file of names) {
      if (!file.startsWith(this.prefix)) continue;
      const full = join(this.dir, file);
      if (file.endsWith('.tmp')) {
        // A write interrupted by a crash; never renamed, so never acknowledged to anyone. Old ones
        // are removed; young ones may belong to a live process sharing the folder.
        const st = await stat(full).catch(() => null);
        if (st && Date.now() - st.mtimeMs > STALE_TMP_MS) await unlink(full).catch(() => undefined);
        continue;
      }
      if (!file.endsWith('.ndjson')) continue;
      const seq = parseSeq(file, this.prefix);
      if (seq === null) continue;
      const st = await stat(full).catch(() => null);
      if (!st) continue;
      found.push({ seq, file, bytes: st.size });
    }
    found.sort(compareEntries);
    for (const e of found) this.index(e);
    return { batches: this.entries.length, bytes: this.totalBytes };
  }

  get batches(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The oldest spooled batch, if any. */
  head(): SpoolEntry | undefined {
    return this.entries[0];
  }

  /** The highest position reserved or written so far (0 when none). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Reserves a place in replay order now, for a batch that may be spooled later. The queue
   * reserves one for every batch it sends, so a batch that fails after newer ones were already
   * spilled still replays before them.
   */
  reserveSeq(): number {
    return this.nextSeq++;
  }

  /** Writes a batch durably. Throws SpoolFullError, or the fs error. */
  async append(items: T[], seq: number = this.reserveSeq()): Promise<SpoolWrite> {
    const { file, body, unserializable } = this.prepare(items, seq);
    if (body.length === 0) return { entry: null, unserializable };
    await writeFileDurably(this.dir, file, body);
    const entry = { seq, file, bytes: body.length };
    this.index(entry);
    return { entry, unserializable };
  }

  /** The same, synchronously: only for the rare push that arrives after the queue was closed. */
  appendSync(items: T[]): SpoolWrite {
    const seq = this.reserveSeq();
    const { file, body, unserializable } = this.prepare(items, seq);
    if (body.length === 0) return { entry: null, unserializable };
    writeFileDurablySync(this.dir, file, body);
    const entry = { seq, file, bytes: body.length };
    this.index(entry);
    return { entry, unserializable };
  }

  /** Reads a spooled batch. Returns null when the file is gone (another process replayed it). */
  async read(entry: SpoolEntry): Promise<SpoolRead<T> | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, entry.file), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const items: T[] = [];
    let badLines = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        items.push(JSON.parse(line) as T);
      } catch {
        badLines++;
      }
    }
    return { items, badLines };
  }

  /** Deletes a batch the sink acknowledged. A file already gone is fine. */
  async remove(entry: SpoolEntry): Promise<void> {
    await unlink(join(this.dir, entry.file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.unindex(entry);
  }

  /** Keeps an unreadable batch for a human (renamed `.corrupt`) and stops replaying it. */
  async quarantine(entry: SpoolEntry): Promise<string> {
    const target = `${entry.file}.corrupt`;
    await rename(join(this.dir, entry.file), join(this.dir, target)).catch(() => undefined);
    this.unindex(entry);
    return join(this.dir, target);
  }

  /** Forgets an entry whose file vanished. */
  forget(entry: SpoolEntry): void {
    this.unindex(entry);
  }

  private prepare(items: T[], seq: number): { file: string; body: Buffer; unserializable: number } {
    let text = '';
    let unserializable = 0;
    for (const item of items) {
      let line: string | undefined;
      try {
        line = JSON.stringify(item);
      } catch {
        line = undefined;
      }
      if (line === undefined) unserializable++;
      else text += line + '\n';
    }
    const body = Buffer.from(text, 'utf8');
    if (this.totalBytes + body.length > this.maxBytes) throw new SpoolFullError(this.totalBytes, this.maxBytes);
    const file = `${this.prefix}${String(seq).padStart(SEQ_DIGITS, '0')}.${process.pid}-${randomBytes(4).toString('hex')}.ndjson`;
    return { file, body, unserializable };
  }

  private index(entry: SpoolEntry): void {
    // Usually appended at the end; a reserved (older) seq is inserted in place.
    let i = this.entries.length;
    while (i > 0 && compareEntries(this.entries[i - 1]!, entry) > 0) i--;
    this.entries.splice(i, 0, entry);
    this.totalBytes += entry.bytes;
    if (entry.seq >= this.nextSeq) this.nextSeq = entry.seq + 1;
  }

  private unindex(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i === -1) return;
    this.entries.splice(i, 1);
    this.totalBytes -= entry.bytes;
  }

}

function parseSeq(file: string, prefix: string): number | null {
  const rest = file.slice(prefix.length);
  const dot = rest.indexOf('.');
  if (dot !== SEQ_DIGITS) return null;
  const seq = Number(rest.slice(0, dot));
  return Number.isSafeInteger(seq) ? seq : null;
}

function compareEntries(a: SpoolEntry, b: SpoolEntry): number {
  return a.seq - b.seq || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
}
