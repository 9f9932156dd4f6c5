// Server versions and the features that depend on them. Debian bookworm ships ClickHouse 18.16,
// which lacks table TTL, DateTime64 and (without a setting) LowCardinality; newer servers get them.

export type Version = readonly number[];

export function parseVersion(text: string): Version {
  const parts = text.trim().split('.').map((p) => Number.parseInt(p, 10));
  if (parts.length === 0 || parts.some((n) => !Number.isFinite(n))) throw new Error(`clickhouse: cannot parse version "${text}"`);
  return parts;
}

/** a >= b, comparing component by component (missing components count as 0). */
export function versionAtLeast(a: Version, b: Version): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Minimum versions of the features the sink uses at run time (migrations state their own). */
export const FEATURES = {
  /** ALTER TABLE … MODIFY TTL (table-level TTL) */
  tableTtl: parseVersion('19.6'),
} as const;
