// Peak resident memory of a child process, from /proc (Linux). VmHWM is the kernel's own high-water
// mark of the resident set, so one read at the end is exact; the periodic VmRSS samples are a
// fallback for kernels without VmHWM and keep a value if the process dies before the last read.
import { readFileSync } from 'node:fs';

export interface RssReading {
  rssKb: number | null;
  hwmKb: number | null;
}

export function parseProcStatus(text: string): RssReading {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

export function readRss(pid: number): RssReading | null {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null; // not Linux, or the process is gone
  }
}

export class RssSampler {
  private peakKb = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const r = readRss(this.pid);
    if (!r) return;
    this.peakKb = Math.max(this.peakKb, r.hwmKb ?? 0, r.rssKb ?? 0);
  }

  /** Peak in MB (1 MB = 1024 kB), or null when nothing could be read (e.g. not Linux). */
  peakMB(): number | null {
    this.sample();
    return this.peakKb > 0 ? Math.round((this.peakKb / 1024) * 10) / 10 : null;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every mainstream Linux build. */
const CLOCK_TICKS = 100;

/** user + system CPU ms from the text of a /proc/…/stat file; null when it does not parse. */
export function parseStatCpuMs(stat: string): number | null {
  // Fields after the parenthesised command name (which may itself contain spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return fields.length > 12 && Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / CLOCK_TICKS : null;
}

/** CPU time (user + system) a process has used so far, all its threads, ms; null when /proc cannot be read. */
export function readCpuMs(pid: number): number | null {
  try {
    return parseStatCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * CPU time of a process's main thread alone (its JavaScript event loop), ms: the rest of readCpuMs is
 * worker threads (ibex's SQLite writer), V8's GC and compiler helpers, and libuv's thread pool.
 */
export function readMainThreadCpuMs(pid: number): number | null {
  try {
    return parseStatCpuMs(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}
