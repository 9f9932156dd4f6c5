// What the auth stage knows about a caller once its PAT is accepted, and the seam that answers
// "is this token hash valid?" — the store in-process, or the auth server over gRPC.
import { SPEND_LIMIT_KEYS, type PatRecord, type SpendLimits } from '../stores/ports.js';

export interface Principal {
  patId: string;
  /** hex SHA-256 of the token (the cache key; the token itself is never kept) */
  hash: string;
  /** Agents this PAT may act as, in the order given at creation */
  agents: string[];
  /** Per-PAT requests per minute; null = no per-PAT limit */
  rpm: number | null;
  /** Epoch ms; null = never expires. Checked on every cache hit. */
  expiresAt: number | null;
  /** Per-PAT token limit and budgets (src/usage); absent = none */
  limits?: SpendLimits | null;
}

export interface TokenValidator {
  /**
   * The principal for a token hash, or null when the hash is unknown or revoked. An expired PAT is
   * still returned (the caller checks `expiresAt`, as it does on every cache hit).
   * Throws when the backend cannot answer (down, deadline passed): callers map that to 503.
   */
  validate(hash: string, opts?: { deadlineMs?: number }): Promise<Principal | null>;
}

/** The bloom filter's feed: every token hash ever issued, incrementally. A TokenStore is one. */
export interface TokenIndexSource {
  /** Hashes created after `cursor` (0 = from the beginning) and the cursor to pass next time. */
  createdSince(cursor: number): Promise<{ hashes: string[]; cursor: number }>;
}

export function principalFromRecord(pat: PatRecord): Principal {
  const limits = spendLimitsOf(pat);
  return { patId: pat.id, hash: pat.hash, agents: [...pat.agents], rpm: pat.rpm, expiresAt: pat.expiresAt, ...(limits ? { limits } : {}) };
}

/** The limits of a record, or null when it has none (the common case: nothing to carry). */
export function spendLimitsOf(r: Partial<SpendLimits>): SpendLimits | null {
  let any = false;
  const out = {} as Record<string, unknown>;
  for (const k of SPEND_LIMIT_KEYS) {
    const v = r[k] ?? null;
    if (v !== null) any = true;
    out[k] = v;
  }
  return any ? (out as unknown as SpendLimits) : null;
}

export function isExpired(p: Principal, now: number): boolean {
  return p.expiresAt !== null && p.expiresAt <= now;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** True for a lowercase hex SHA-256, the only shape a token hash has (guards bus and wire input). */
export function isTokenHash(value: unknown): value is string {
  return typeof value === 'string' && HEX_SHA256.test(value);
}
