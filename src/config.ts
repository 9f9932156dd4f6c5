// Configuration: command-line flag > environment variable > config file > default.
// Resolved and validated once, at start; everything downstream receives the typed object.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors.js';
import { readConfigFile } from './config-file.js';

export interface IbexConfig {
  /** State folder: embedded database, admin token, spool */
  home: string;
  /** postgres://… → Postgres; undefined → SQLite at `$home/ibex.db` */
  databaseUrl?: string;
  /** redis://… → Redis limits, directive cache, revocation and event bus; undefined → in-process */
  redisUrl?: string;
  /** Prefix of every Redis key and channel, so several ibex deployments (or test runs) can share one Redis */
  redisPrefix: string;
  /** http://host:8123/DB → ClickHouse traces; undefined → traces in the relational store */
  clickhouseUrl?: string;
  /** OpenAI-compatible base URL, ending in /v1 */
  upstreamUrl: string;
  /** Key sent upstream (never the caller's PAT) */
  upstreamKey?: string;
  /** grpc://host:port of a remote auth server; undefined → in-process auth */
  authUrl?: string;
  host: string;
  port: number;
  /** Bearer token for /admin/*; undefined → generated into `$home/admin-token` */
  adminToken?: string;
  /** Request body limit in bytes */
  bodyLimit: number;
  /** Upstream timeouts, ms: connect, time to response headers, idle gap between body chunks */
  upstreamConnectTimeoutMs: number;
  upstreamTtfbTimeoutMs: number;
  upstreamIdleTimeoutMs: number;
  /** Largest non-streaming provider answer read, in bytes (502 beyond); also bounds what is stored of a stream */
  maxResponseBytes: number;
  /** Max keep-alive connections to the upstream */
  upstreamConnections: number;
  /** How long shutdown waits for in-flight requests */
  drainTimeoutMs: number;
  /** Poll interval of the revocation log and directive versions (the push path's backstop) */
  pollIntervalMs: number;
  /** Trace retention in days (ClickHouse TTL / relational pruning) */
  traceRetentionDays: number;
  /** Log level: 'info' (default), 'warn', 'error', 'silent' */
  logLevel: string;
}

/** The keys a user may set in the config file (`ibex config set KEY VALUE`). */
export const CONFIG_KEYS = {
  databaseUrl: { env: 'IBEX_DATABASE_URL' },
  redisUrl: { env: 'IBEX_REDIS_URL' },
  redisPrefix: { env: 'IBEX_REDIS_PREFIX' },
  clickhouseUrl: { env: 'IBEX_CLICKHOUSE_URL' },
  upstreamUrl: { env: 'IBEX_UPSTREAM_URL' },
  upstreamKey: { env: 'OPENAI_API_KEY' },
  authUrl: { env: 'IBEX_AUTH_URL' },
  host: { env: 'IBEX_HOST' },
  port: { env: 'IBEX_PORT' },
  adminToken: { env: 'IBEX_ADMIN_TOKEN' },
  bodyLimit: { env: 'IBEX_BODY_LIMIT' },
  upstreamConnectTimeoutMs: { env: 'IBEX_UPSTREAM_CONNECT_TIMEOUT_MS' },
  upstreamTtfbTimeoutMs: { env: 'IBEX_UPSTREAM_TTFB_TIMEOUT_MS' },
  upstreamIdleTimeoutMs: { env: 'IBEX_UPSTREAM_IDLE_TIMEOUT_MS' },
  upstreamConnections: { env: 'IBEX_UPSTREAM_CONNECTIONS' },
  maxResponseBytes: { env: 'IBEX_MAX_RESPONSE_BYTES' },
  drainTimeoutMs: { env: 'IBEX_DRAIN_TIMEOUT_MS' },
  pollIntervalMs: { env: 'IBEX_POLL_INTERVAL_MS' },
  traceRetentionDays: { env: 'IBEX_TRACE_RETENTION_DAYS' },
  logLevel: { env: 'IBEX_LOG_LEVEL' },
} as const satisfies Record<string, { env: string }>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

const DEFAULTS = {
  upstreamUrl: 'https://api.openai.com/v1',
  redisPrefix: 'ibex:',
  host: '127.0.0.1',
  port: 8787,
  bodyLimit: 4 * 1024 * 1024,
  upstreamConnectTimeoutMs: 5_000,
  upstreamTtfbTimeoutMs: 120_000,
  upstreamIdleTimeoutMs: 60_000,
  upstreamConnections: 256,
  maxResponseBytes: 32 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  pollIntervalMs: 1_000,
  traceRetentionDays: 30,
  logLevel: 'info',
} satisfies Partial<IbexConfig>;

export type ConfigFlags = Partial<Record<ConfigKey, string | number | undefined>> & { home?: string };

/** `IBEX_HOME`, else `~/.ibex`. The config file lives inside it, so it cannot itself be set there. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env, flag?: string): string {
  return flag ?? env.IBEX_HOME ?? join(homedir(), '.ibex');
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): IbexConfig {
  const home = resolveHome(env, flags.home);
  const file = readConfigFile(home);
  const pick = (key: ConfigKey): string | number | undefined => {
    const fromFlag = flags[key];
    if (fromFlag !== undefined && fromFlag !== '') return fromFlag;
    const fromEnv = env[CONFIG_KEYS[key].env];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const fromFile = file[key];
    if (fromFile !== undefined && fromFile !== '') return fromFile as string | number;
    return (DEFAULTS as Record<string, string | number | undefined>)[key];
  };
  const str = (key: ConfigKey) => {
    const v = pick(key);
    return v === undefined ? undefined : String(v);
  };
  const int = (key: ConfigKey, min: number, max: number) => {
    const raw = pick(key);
    const n = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`invalid ${key}: ${String(raw)}`, `expected a whole number from ${min} to ${max} (env ${CONFIG_KEYS[key].env})`);
    }
    return n;
  };
  const url = (key: ConfigKey, protocols: string[]) => {
    const v = str(key);
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw new UsageError(`invalid ${key}: not a URL`, `set ${CONFIG_KEYS[key].env} to a ${protocols.join(' or ')} URL`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new UsageError(`invalid ${key}: protocol ${parsed.protocol}`, `expected ${protocols.join(' or ')}`);
    }
    return v;
  };

  return {
    home,
    databaseUrl: url('databaseUrl', ['postgres:', 'postgresql:']),
    redisUrl: url('redisUrl', ['redis:', 'rediss:']),
    redisPrefix: str('redisPrefix')!,
    clickhouseUrl: url('clickhouseUrl', ['http:', 'https:']),
    upstreamUrl: url('upstreamUrl', ['http:', 'https:'])!.replace(/\/+$/, ''),
    upstreamKey: str('upstreamKey'),
    authUrl: url('authUrl', ['grpc:']),
    host: str('host')!,
    port: int('port', 0, 65535),
    adminToken: str('adminToken'),
    bodyLimit: int('bodyLimit', 1024, 1024 * 1024 * 1024),
    upstreamConnectTimeoutMs: int('upstreamConnectTimeoutMs', 1, 3_600_000),
    upstreamTtfbTimeoutMs: int('upstreamTtfbTimeoutMs', 1, 3_600_000),
    upstreamIdleTimeoutMs: int('upstreamIdleTimeoutMs', 1, 3_600_000),
    upstreamConnections: int('upstreamConnections', 1, 100_000),
    maxResponseBytes: int('maxResponseBytes', 1024, 1024 * 1024 * 1024),
    drainTimeoutMs: int('drainTimeoutMs', 0, 3_600_000),
    pollIntervalMs: int('pollIntervalMs', 50, 60_000),
    traceRetentionDays: int('traceRetentionDays', 1, 36_500),
    logLevel: str('logLevel')!,
  };
}

/** A config for logs: URLs without passwords, no secrets. */
export function describeConfig(c: IbexConfig): Record<string, unknown> {
  return {
    ...c,
    databaseUrl: c.databaseUrl && redactUrl(c.databaseUrl),
    redisUrl: c.redisUrl && redactUrl(c.redisUrl),
    clickhouseUrl: c.clickhouseUrl && redactUrl(c.clickhouseUrl),
    upstreamKey: c.upstreamKey ? '(set)' : undefined,
    adminToken: c.adminToken ? '(set)' : undefined,
  };
}

export function redactUrl(u: string): string {
  try {
    const p = new URL(u);
    if (p.password) p.password = '***';
    return p.toString();
  } catch {
    return '(invalid url)';
  }
}
