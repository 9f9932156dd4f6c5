// Configuration: command-line flag > environment variable > config file > default.
// Resolved and validated once, at start; everything downstream receives the typed object.
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { UsageError, UserError } from './errors.js';
import { readConfigFile } from './config-file.js';
import type { LogLevel } from './log.js';

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
  /**
   * Bytes of request bodies the gateway holds at once (declared Content-Length of the conversation
   * requests in flight); a request that would go beyond waits for none: 503 server_busy
   */
  maxInflightBodyBytes: number;
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
  /** `/v1/*` prefixes relayed as they are after auth, limits and a trace (IBEX_PASSTHROUGH, comma-separated) */
  passthrough: string[];
  /** Origins allowed to call from a browser (CORS); empty → CORS off (IBEX_CORS_ORIGINS, comma-separated) */
  corsOrigins: string[];
  /** What budgets do when Redis cannot answer: open (default), closed or local (IBEX_BUDGET_ON_STORE_ERROR) */
  budgetOnStoreError?: 'open' | 'closed' | 'local';
  /** The share of each limit a replica spends on its own in mode local (IBEX_BUDGET_LOCAL_SHARE, default 0.5) */
  budgetLocalShare?: number;
}

/** The log levels `createLogger` knows, in the order it filters them. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const satisfies readonly LogLevel[];

/**
 * How one setting is checked. The same validator runs when a value is read at start (flag, env or file)
 * and when `ibex config set` writes it, so the file never holds a value that would stop the next command.
 */
interface KeyRule {
  env: string;
  /** What is accepted, for the error message: "expected <accepts>" */
  accepts: string;
  /** Returns the typed value or throws `InvalidValue` */
  parse(raw: string | number): string | number;
  /** How `ibex config get` shows it: 'url' masks the password inside, 'all' the whole value (a secret) */
  mask?: 'url' | 'all';
}

/** A value a rule refused; `validateConfigValue` turns it into a UsageError naming the key and the source. */
class InvalidValue extends Error {}

const urlRule = (env: string, protocols: string[], example: string): KeyRule => ({
  env,
  accepts: `a ${protocols.map((p) => `${p}//`).join(' or ')} URL, e.g. ${example}`,
  mask: 'url',
  parse(raw) {
    let parsed: URL;
    try {
      parsed = new URL(String(raw));
    } catch {
      throw new InvalidValue('not a URL');
    }
    if (!protocols.includes(parsed.protocol)) throw new InvalidValue(`protocol ${parsed.protocol}`);
    return String(raw);
  },
});

const intRule = (env: string, min: number, max: number): KeyRule => ({
  env,
  accepts: `a whole number from ${min} to ${max}`,
  parse(raw) {
    const n = typeof raw === 'number' ? raw : /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidValue(JSON.stringify(raw));
    return n;
  },
});

const textRule = (env: string, opts: { secret?: boolean } = {}): KeyRule => ({
  env,
  accepts: 'a non-empty text',
  mask: opts.secret ? 'all' : undefined,
  parse(raw) {
    const v = String(raw);
    if (v.trim() === '') throw new InvalidValue('empty');
    return v;
  },
});

/** A DNS name (RFC 1123 labels) or an IPv4/IPv6 literal: what `listen()` can bind. */
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

const hostRule: KeyRule = {
  env: 'IBEX_HOST',
  accepts: 'a host name or IP address, e.g. 127.0.0.1, 0.0.0.0, ::1 or localhost',
  parse(raw) {
    const v = String(raw);
    if (!isIP(v) && !HOSTNAME_RE.test(v)) throw new InvalidValue(JSON.stringify(v));
    return v;
  },
};

const logLevelRule: KeyRule = {
  env: 'IBEX_LOG_LEVEL',
  accepts: `one of ${LOG_LEVELS.join(', ')}`,
  parse(raw) {
    const v = String(raw);
    if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new InvalidValue(JSON.stringify(v));
    return v;
  },
};

/** The keys a user may set in the config file (`ibex config set KEY VALUE`), each with its one validator. */
export const CONFIG_KEYS = {
  databaseUrl: urlRule('IBEX_DATABASE_URL', ['postgres:', 'postgresql:'], 'postgres://user:pass@127.0.0.1:5432/ibex'),
  redisUrl: urlRule('IBEX_REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  redisPrefix: textRule('IBEX_REDIS_PREFIX'),
  clickhouseUrl: urlRule('IBEX_CLICKHOUSE_URL', ['http:', 'https:'], 'http://127.0.0.1:8123/ibex'),
  upstreamUrl: urlRule('IBEX_UPSTREAM_URL', ['http:', 'https:'], 'https://api.openai.com/v1'),
  upstreamKey: textRule('OPENAI_API_KEY', { secret: true }),
  authUrl: urlRule('IBEX_AUTH_URL', ['grpc:'], 'grpc://127.0.0.1:50051'),
  host: hostRule,
  port: intRule('IBEX_PORT', 0, 65535),
  adminToken: textRule('IBEX_ADMIN_TOKEN', { secret: true }),
  bodyLimit: intRule('IBEX_BODY_LIMIT', 1024, 1024 * 1024 * 1024),
  maxInflightBodyBytes: intRule('IBEX_MAX_INFLIGHT_BODY_BYTES', 1024, 64 * 1024 * 1024 * 1024),
  upstreamConnectTimeoutMs: intRule('IBEX_UPSTREAM_CONNECT_TIMEOUT_MS', 1, 3_600_000),
  upstreamTtfbTimeoutMs: intRule('IBEX_UPSTREAM_TTFB_TIMEOUT_MS', 1, 3_600_000),
  upstreamIdleTimeoutMs: intRule('IBEX_UPSTREAM_IDLE_TIMEOUT_MS', 1, 3_600_000),
  upstreamConnections: intRule('IBEX_UPSTREAM_CONNECTIONS', 1, 100_000),
  maxResponseBytes: intRule('IBEX_MAX_RESPONSE_BYTES', 1024, 1024 * 1024 * 1024),
  drainTimeoutMs: intRule('IBEX_DRAIN_TIMEOUT_MS', 0, 3_600_000),
  pollIntervalMs: intRule('IBEX_POLL_INTERVAL_MS', 50, 60_000),
  traceRetentionDays: intRule('IBEX_TRACE_RETENTION_DAYS', 1, 36_500),
  logLevel: logLevelRule,
} as const satisfies Record<string, KeyRule>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** Where a value came from, for the error that refuses it. */
export type ConfigSource = 'flag' | 'env' | 'file' | 'default';

/**
 * Checks one value of one key with that key's rule. A bad value is a UsageError (exit 2) naming the key,
 * what is accepted and where the value came from; secrets and URLs (which may hold a password) are
 * never echoed back.
 */
export function validateConfigValue(key: ConfigKey, raw: string | number, source: ConfigSource = 'flag'): string | number {
  const rule: KeyRule = CONFIG_KEYS[key];
  try {
    return rule.parse(raw);
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    // The rules quote only values that cannot hold a secret; this keeps it so for any future rule.
    const why = rule.mask && err.message.startsWith('"') ? 'refused' : err.message;
    const where =
      source === 'env'
        ? ` (from env ${rule.env})`
        : source === 'file'
          ? ` (from the config file: fix it with \`ibex config set ${key} …\` or \`ibex config unset ${key}\`)`
          : '';
    throw new UsageError(`invalid ${key}: ${why}`, `expected ${rule.accepts}${where}`);
  }
}

const DEFAULTS = {
  upstreamUrl: 'https://api.openai.com/v1',
  redisPrefix: 'ibex:',
  host: '127.0.0.1',
  port: 8787,
  // Vision requests carry images inline: 32 MiB, like the provider's own limit.
  bodyLimit: 32 * 1024 * 1024,
  // Each byte of a body in flight costs several in memory (the text, the parsed object, the body sent
  // upstream, the ledger's copy): 256 MiB of bodies is about 1–1.5 GB of heap at worst.
  maxInflightBodyBytes: 256 * 1024 * 1024,
  upstreamConnectTimeoutMs: 5_000,
  // Reasoning models may think for minutes before the first byte; the OpenAI SDK's own default is 600 s.
  upstreamTtfbTimeoutMs: 600_000,
  upstreamIdleTimeoutMs: 300_000,
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
  const pick = (key: ConfigKey): { raw: string | number; source: ConfigSource } | undefined => {
    const fromFlag = flags[key];
    if (fromFlag !== undefined && fromFlag !== '') return { raw: fromFlag, source: 'flag' };
    const fromEnv = env[CONFIG_KEYS[key].env];
    if (fromEnv !== undefined && fromEnv !== '') return { raw: fromEnv, source: 'env' };
    const fromFile = file[key];
    if (fromFile !== undefined && fromFile !== '') return { raw: fromFile as string | number, source: 'file' };
    const fallback = (DEFAULTS as Record<string, string | number | undefined>)[key];
    return fallback === undefined ? undefined : { raw: fallback, source: 'default' };
  };
  const value = (key: ConfigKey) => {
    const v = pick(key);
    return v === undefined ? undefined : validateConfigValue(key, v.raw, v.source);
  };
  const str = (key: ConfigKey) => value(key) as string | undefined;
  const int = (key: ConfigKey) => value(key) as number;

  return {
    home,
    databaseUrl: str('databaseUrl'),
    redisUrl: str('redisUrl'),
    redisPrefix: str('redisPrefix')!,
    clickhouseUrl: str('clickhouseUrl'),
    upstreamUrl: str('upstreamUrl')!.replace(/\/+$/, ''),
    upstreamKey: str('upstreamKey'),
    authUrl: str('authUrl'),
    host: str('host')!,
    port: int('port'),
    adminToken: str('adminToken'),
    bodyLimit: int('bodyLimit'),
    maxInflightBodyBytes: int('maxInflightBodyBytes'),
    upstreamConnectTimeoutMs: int('upstreamConnectTimeoutMs'),
    upstreamTtfbTimeoutMs: int('upstreamTtfbTimeoutMs'),
    upstreamIdleTimeoutMs: int('upstreamIdleTimeoutMs'),
    upstreamConnections: int('upstreamConnections'),
    maxResponseBytes: int('maxResponseBytes'),
    drainTimeoutMs: int('drainTimeoutMs'),
    pollIntervalMs: int('pollIntervalMs'),
    traceRetentionDays: int('traceRetentionDays'),
    logLevel: str('logLevel')!,
    passthrough: listOf(env.IBEX_PASSTHROUGH, DEFAULT_PASSTHROUGH).map(passthroughPrefix),
    corsOrigins: listOf(env.IBEX_CORS_ORIGINS, []),
    budgetOnStoreError: budgetMode(env.IBEX_BUDGET_ON_STORE_ERROR),
    budgetLocalShare: budgetShare(env.IBEX_BUDGET_LOCAL_SHARE),
  };
}

function budgetMode(v: string | undefined): IbexConfig['budgetOnStoreError'] {
  if (v === undefined || v === '') return 'open';
  if (v === 'open' || v === 'closed' || v === 'local') return v;
  throw new UsageError(`invalid IBEX_BUDGET_ON_STORE_ERROR: ${JSON.stringify(v)}`, 'expected open, closed or local');
}

function budgetShare(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new UsageError(`invalid IBEX_BUDGET_LOCAL_SHARE: ${JSON.stringify(v)}`, 'expected a number above 0 and at most 1, e.g. 0.5');
  return n;
}

/**
 * Relayed by default: audio and images act on the request alone. Files, batches and uploads are off by
 * default because they act on the whole upstream account (any caller could list or delete every file).
 */
export const DEFAULT_PASSTHROUGH = ['/v1/audio', '/v1/images'];

function listOf(value: string | undefined, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function passthroughPrefix(p: string): string {
  if (!/^\/v1\/[A-Za-z0-9_/-]+$/.test(p)) {
    throw new UserError(`IBEX_PASSTHROUGH: "${p}" is not a /v1/ path prefix`, 'use prefixes like /v1/audio,/v1/images');
  }
  return p.replace(/\/+$/, '');
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
    // libpq-style URLs may carry the password as a query parameter instead
    if (p.searchParams.has('password')) p.searchParams.set('password', '***');
    return p.toString();
  } catch {
    return '(invalid url)';
  }
}

/** A config-file value as `ibex config get` shows it: secrets masked, passwords inside URLs masked. */
export function maskConfigValue(key: string, value: unknown): unknown {
  if (!(key in CONFIG_KEYS) || value === undefined || value === null) return value;
  const rule: KeyRule = CONFIG_KEYS[key as ConfigKey];
  if (rule.mask === 'all') return '***';
  if (rule.mask === 'url') return redactUrl(String(value));
  return value;
}
