// Writing a whole file so that a crash leaves either all of it or nothing under its name: the bytes
// go to `NAME.tmp` (created exclusively, owner-only), are flushed to disk, and only then renamed; the
// rename itself is durable once the folder is flushed. Used by the write-behind spool and the dead
// letter, which hold records the stores did not take: losing one of those files is losing data.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `body` to `dir/file` durably (see above). Throws the fs error; no `.tmp` is left behind. */
export async function writeFileDurably(dir: string, file: string, body: Buffer): Promise<void> {
  const tmp = join(dir, `${file}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(tmp, join(dir, file));
  await syncDir(dir);
}

/** The same, synchronously: for a write that must finish before the process goes on (a push after the queue was closed). */
export function writeFileDurablySync(dir: string, file: string, body: Buffer): void {
  const tmp = join(dir, `${file}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, file));
  syncDirSync(dir);
}

// Best effort: a folder that cannot be opened or flushed (some filesystems refuse) leaves the file
// written, only its rename less sure to survive a power cut.
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}

function syncDirSync(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // as syncDir
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
