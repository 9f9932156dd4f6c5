// Durations (`60s`, `10m`, `30d`) and sizes (`32MiB`) as the file writes them. A bare number is refused
// for durations (seconds or milliseconds? the reader cannot tell) but taken as bytes for sizes.
import { parseDuration } from '../util/duration.js';

/** ms, or null when not a duration. `allowZero` for settings where 0 means "off" (cooldown). */
export function parseDurationText(text: string, allowZero = false): number | null {
  if (allowZero && /^\s*0+(?:\.0+)?\s*(?:ms|s|m|h|d|w)\s*$/.test(text)) return 0;
  return parseDuration(text);
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Largest size accepted: far above any sensible body, and a safe integer. */
export const MAX_SIZE_BYTES = 64 * 1024 ** 3;

/** bytes, or null when not a size like `32MiB`, `512 KB`, `1048576` */
export function parseSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 && value <= MAX_SIZE_BYTES ? value : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$/i.exec(value);
  if (!m) return null;
  const bytes = Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!);
  return bytes > 0 && bytes <= MAX_SIZE_BYTES ? bytes : null;
}
