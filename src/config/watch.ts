// Reload ibex.yaml when it changes, without a restart. Two triggers, because neither is enough alone:
// fs.watch on the folder reacts at once but misses events on some filesystems (network mounts,
// containers) and loses track of a file that an editor replaced; a stat poll every 2 s catches the
// rest. Both only schedule a debounced reload, and a reload only acts when the text really changed.
// A file that fails validation is refused with one log line naming the line; the old config stays.
import { watch, watchFile, unwatchFile, type FSWatcher, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../log.js';
import { ConfigFileError } from './errors.js';
import { parseIbexYaml } from './load.js';
import type { IbexFileConfig } from './types.js';

export interface WatchOptions {
  /** Quiet time after the last event before reading (editors write in several steps) */
  debounceMs?: number;
  /** The stat poll's interval */
  pollMs?: number;
  /** false: poll only (tests of the fallback; filesystems where fs.watch misbehaves) */
  fsWatch?: boolean;
}

const MISSING = Symbol('missing');

export function watchIbexYaml(
  path: string,
  env: NodeJS.ProcessEnv,
  onChange: (config: IbexFileConfig) => void,
  log: Pick<Logger, 'info' | 'warn'>,
  opts: WatchOptions = {},
): () => void {
  const debounceMs = opts.debounceMs ?? 150;
  const pollMs = opts.pollMs ?? 2_000;
  const name = basename(path);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  // The text the running config came from, read now; a later read that matches it is no change.
  let lastSeen: string | typeof MISSING | null = null;
  const primed = readFile(path, 'utf8').then(
    (t) => {
      lastSeen ??= t;
    },
    () => {
      lastSeen ??= MISSING;
    },
  );

  const reload = async (): Promise<void> => {
    await primed;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (lastSeen !== MISSING) {
        lastSeen = MISSING;
        log.warn(`config: ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? err}); keeping the previous configuration`);
      }
      return;
    }
    if (stopped || text === lastSeen) return;
    lastSeen = text;
    let next: IbexFileConfig;
    try {
      next = parseIbexYaml(text, path, env);
    } catch (err) {
      const why = err instanceof ConfigFileError ? err.oneLine() : `${path}: ${(err as Error).message}`;
      log.warn(`config: refused ${why}; keeping the previous configuration`);
      return;
    }
    log.info(`config: reloaded ${path} (${next.providers.length} providers, ${Object.keys(next.models).length} models)`);
    try {
      onChange(next);
    } catch (err) {
      log.warn(`config: applying the reloaded ${path} failed: ${(err as Error).message}`);
    }
  };

  // One reload at a time; an event during a reload runs one more after it.
  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = reload().finally(() => {
      running = null;
      if (again) {
        again = false;
        run();
      }
    });
  };

  const schedule = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
    timer.unref();
  };

  let watcher: FSWatcher | undefined;
  if (opts.fsWatch !== false) {
    try {
      // The folder, not the file: an editor's rename-over replaces the inode a file watch would follow.
      watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (!file || file.toString() === name) schedule();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No fs.watch here (or no folder yet): the poll alone will do.
    }
  }
  const onStat = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) schedule();
  };
  watchFile(path, { interval: pollMs, persistent: false }, onStat);

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    watcher?.close();
    unwatchFile(path, onStat);
  };
}
