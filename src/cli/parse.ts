// Flag value parsers: a bad value is a usage error (exit 2) that names the flag.
import { UsageError } from '../errors.js';

export function parseIntFlag(flag: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Agent names: what appears in headers, URLs and metrics labels, so a conservative alphabet. */
export function parseAgentName(value: string): string {
  if (!NAME_RE.test(value)) {
    throw new UsageError(`invalid agent name "${value}"`, 'use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  return value;
}
