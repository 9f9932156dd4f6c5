// Per-PAT and per-agent fixed-window request limits (requests per minute). The reply carries OpenAI's
// x-ratelimit-* headers for the tighter of the two; exceeding either gives 429 + retry-after.
import { IbexError } from '../errors.js';
import type { RateLimiter, RateLimitResult } from '../stores/ports.js';

const WINDOW_MS = 60_000;

export interface LimitSubject {
  patId: string;
  patRpm: number | null;
  agent: string;
  agentRpm: number | null;
}

/** Returns the headers to set; throws IbexError 429 (with headers) when a limit is exceeded. */
export async function checkRateLimits(limiter: RateLimiter, s: LimitSubject): Promise<Record<string, string> | null> {
  const checks: Promise<RateLimitResult>[] = [];
  if (s.patRpm !== null) checks.push(limiter.hit(`pat:${s.patId}`, s.patRpm, WINDOW_MS));
  if (s.agentRpm !== null) checks.push(limiter.hit(`agent:${s.agent}`, s.agentRpm, WINDOW_MS));
  if (checks.length === 0) return null;
  const results = await Promise.all(checks);
  let tightest = results[0]!;
  for (const r of results) {
    if (!r.allowed && tightest.allowed) tightest = r;
    else if (r.allowed === tightest.allowed && r.remaining < tightest.remaining) tightest = r;
  }
  const headers = rateLimitHeaders(tightest);
  if (!tightest.allowed) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(tightest.resetMs / 1000)));
    throw new IbexError('IBEX_ERR_RATE_LIMITED', {
      message: `Rate limit reached: ${tightest.limit} requests per minute. Retry after ${headers['retry-after']}s.`,
      headers,
    });
  }
  return headers;
}

export function rateLimitHeaders(r: RateLimitResult): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(r.limit),
    'x-ratelimit-remaining-requests': String(Math.max(0, r.remaining)),
    'x-ratelimit-reset-requests': `${Math.max(0, Math.ceil(r.resetMs / 1000))}s`,
  };
}
