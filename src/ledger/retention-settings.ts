// How long traces and sessions are kept. Precedence, as everywhere: environment > file > default.
//   traces:   IBEX_TRACE_RETENTION (a duration: 30d, 12h) > IBEX_TRACE_RETENTION_DAYS > ibex.yaml
//             `retention.traces` > the `traceRetentionDays` setting (config file, default 30 days)
//   sessions: IBEX_SESSION_RETENTION > ibex.yaml `retention.sessions` > kept forever
// Only the `retention` section of ibex.yaml is read here (the rest is the gateway's), so a command
// like `ibex prune` works without the providers' secrets in its environment.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { IbexConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { findConfigPath } from '../config/load.js';
import { parseDuration } from '../util/duration.js';

export const DAY_MS = 86_400_000;

export interface RetentionSettings {
  /** ms; traces older than this are deleted */
  tracesMs: number;
  /** ms; sessions not updated for longer are deleted; null = kept forever */
  sessionsMs: number | null;
}

function envDuration(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const ms = parseDuration(v);
  if (ms === null) throw new UsageError(`${name}="${v}" is not a duration`, 'use e.g. 30d, 12h or 90d');
  return ms;
}

/** `retention.traces` / `retention.sessions` of ibex.yaml, when the file has them. */
function fileRetention(config: IbexConfig, env: NodeJS.ProcessEnv): { tracesMs?: number; sessionsMs?: number } {
  const path = findConfigPath(env, config.home);
  if (!path) return {};
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch {
    return {}; // unreadable or invalid: the gateway's own loader reports it, with the line
  }
  const r = (doc as { retention?: { traces?: unknown; sessions?: unknown } } | null)?.retention;
  const ms = (v: unknown) => (typeof v === 'string' ? (parseDuration(v) ?? undefined) : undefined);
  return { tracesMs: ms(r?.traces), sessionsMs: ms(r?.sessions) };
}

export function retentionSettings(config: IbexConfig, env: NodeJS.ProcessEnv = process.env): RetentionSettings {
  const file = fileRetention(config, env);
  const tracesDaysFromEnv = env.IBEX_TRACE_RETENTION_DAYS ? config.traceRetentionDays * DAY_MS : undefined;
  return {
    tracesMs: envDuration(env, 'IBEX_TRACE_RETENTION') ?? tracesDaysFromEnv ?? file.tracesMs ?? config.traceRetentionDays * DAY_MS,
    sessionsMs: envDuration(env, 'IBEX_SESSION_RETENTION') ?? file.sessionsMs ?? null,
  };
}

/** Whole days for stores that count in days (ClickHouse TTL): a partial day rounds up. */
export function retentionDays(ms: number): number {
  return Math.max(1, Math.ceil(ms / DAY_MS));
}

/** `30d`, `12h`, … for messages. */
export function formatRetention(ms: number | null): string {
  if (ms === null) return 'forever';
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 1000)}s`;
}
