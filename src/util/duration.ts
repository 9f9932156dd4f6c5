// Durations like `90s`, `15m`, `12h`, `30d` (and `500ms`) → milliseconds.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Longer than any sensible token lifetime, and far inside the Date range (±8.64e15 ms). */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_DURATION_MS ? Math.round(ms) : null;
}
