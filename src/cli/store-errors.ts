// The one place that turns "a store could not be opened or asked" into what an operator can act on:
// a one-line cause that names the store and a hint with the next step (`createdb …`, start the
// service, fix the URL). Every command goes through here: withStores for the management commands,
// `serve` for the gateway's start, so `ibex agent list` and `ibex serve` say the same thing.
import type { IbexConfig } from '../config.js';
import { UserError } from '../errors.js';

const GENERIC_HINT = 'check IBEX_HOME, IBEX_DATABASE_URL, IBEX_REDIS_URL and IBEX_CLICKHOUSE_URL, and that those services are reachable';

/** Node's codes for "could not get a connection there" (refused, unknown host, unreachable, timed out). */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/** pg's own messages when the pool gives up connecting (no errno code on these). */
const PG_CONNECT_TIMEOUT = /timeout exceeded when trying to connect|connection terminated (unexpectedly|due to connection timeout)/i;

interface ErrorShape {
  message?: string;
  code?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  severity?: unknown;
  errors?: unknown;
  cause?: unknown;
}

interface Endpoint {
  store: 'postgres' | 'clickhouse';
  env: string;
  url: URL;
  port: string;
}

function endpoints(config: IbexConfig | undefined): Endpoint[] {
  const out: Endpoint[] = [];
  const add = (store: Endpoint['store'], env: string, raw: string | undefined, defaultPort: (u: URL) => string) => {
    if (!raw) return;
    try {
      const url = new URL(raw);
      out.push({ store, env, url, port: url.port || defaultPort(url) });
    } catch {
      // loadConfig has validated it; nothing to match against otherwise
    }
  };
  add('postgres', 'IBEX_DATABASE_URL', config?.databaseUrl, () => '5432');
  add('clickhouse', 'IBEX_CLICKHOUSE_URL', config?.clickhouseUrl, (u) => (u.protocol === 'https:' ? '8443' : '8123'));
  return out;
}

/** `host:port/path` of a store URL, never its user or password. */
function where(e: Endpoint): string {
  return `${e.url.hostname}:${e.port}${e.url.pathname === '/' ? '' : e.url.pathname}`;
}

/** The error itself, or the first one inside it (AggregateError from happy eyeballs, `cause` chains). */
function shapes(err: unknown): ErrorShape[] {
  const out: ErrorShape[] = [];
  const walk = (e: unknown, depth: number) => {
    if (depth > 4 || e === null || typeof e !== 'object') return;
    const s = e as ErrorShape;
    out.push(s);
    if (Array.isArray(s.errors)) for (const inner of s.errors) walk(inner, depth + 1);
    walk(s.cause, depth + 1);
  };
  walk(err, 0);
  return out;
}

const isPgServerError = (s: ErrorShape) => typeof s.severity === 'string' && typeof s.code === 'string' && /^[0-9A-Z]{5}$/.test(s.code);
const isConnectError = (s: ErrorShape) => typeof s.code === 'string' && CONNECT_CODES.has(s.code);
/** ClickHouseError, or the plain Error the client raises when it cannot parse an older server's text. */
const isClickHouseError = (s: ErrorShape) => (s as object).constructor?.name === 'ClickHouseError' || /\bCode: \d+\b[\s\S]*DB::Exception/.test(s.message ?? '');

/**
 * Whether `err` comes from reaching or using a store (a connection refused, a host that does not resolve,
 * a database server's own refusal) rather than from a bug. `serve` uses it: its start does more than
 * open stores, and only store failures are the operator's to fix.
 */
export function isStoreError(err: unknown): boolean {
  return shapes(err).some((s) => isPgServerError(s) || isConnectError(s) || isClickHouseError(s) || PG_CONNECT_TIMEOUT.test(s.message ?? ''));
}

/** Which configured store a network error is about, by the address it failed on. */
function endpointOf(s: ErrorShape, all: Endpoint[]): Endpoint | undefined {
  const host = typeof s.hostname === 'string' ? s.hostname : typeof s.address === 'string' ? s.address : undefined;
  const port = s.port === undefined ? undefined : String(s.port);
  const byHost = all.filter((e) => host !== undefined && e.url.hostname.replace(/^\[|\]$/g, '') === host && (port === undefined || e.port === port));
  if (byHost.length === 1) return byHost[0];
  // `localhost` connects as 127.0.0.1 or ::1: fall back to the port when it names one store only.
  const byPort = all.filter((e) => port !== undefined && e.port === port);
  return byPort.length === 1 ? byPort[0] : undefined;
}

/** Shell-quotes a word for a hint the operator may paste. */
const sh = (w: string) => (/^[A-Za-z0-9_./:@-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`);

function postgresHint(code: string, pg: Endpoint): string | undefined {
  const db = decodeURIComponent(pg.url.pathname.replace(/^\//, '')) || 'postgres';
  const user = decodeURIComponent(pg.url.username);
  switch (code) {
    case '3D000': // invalid_catalog_name
      return `create it with \`createdb -h ${sh(pg.url.hostname)} -p ${pg.port}${user ? ` -U ${sh(user)}` : ''} ${sh(db)}\` (ibex creates its tables itself), or fix ${pg.env}`;
    case '28P01': // invalid_password
    case '28000': // invalid_authorization_specification (no such role, pg_hba refused)
      return `check the user and password in ${pg.env} and that pg_hba.conf lets this host in`;
    case '42501': // insufficient_privilege
      return `ibex creates its own tables: give the user of ${pg.env} CREATE on the database, or run \`ibex migrate\` as its owner`;
    case '57P03': // cannot_connect_now
    case '53300': // too_many_connections
      return 'the database is starting or full; retry in a moment';
    default:
      return undefined;
  }
}

function describe(err: unknown, config: IbexConfig | undefined): { message: string; hint: string } {
  const message = (err as Error)?.message || String(err);
  const all = endpoints(config);
  const pg = all.find((e) => e.store === 'postgres');
  const ch = all.find((e) => e.store === 'clickhouse');
  for (const s of shapes(err)) {
    if (isPgServerError(s) && pg) {
      return { message: `postgres ${where(pg)}: ${s.message}`, hint: postgresHint(s.code as string, pg) ?? `check ${pg.env} and the database server's log` };
    }
    if (isClickHouseError(s) && ch) {
      return { message: `clickhouse ${where(ch)}: ${(s.message ?? '').trim()}`, hint: `check the user, password and database in ${ch.env}` };
    }
    if (isConnectError(s)) {
      const e = endpointOf(s, all);
      if (!e) continue; // an AggregateError carries no address itself: look at the attempts inside
      const code = s.code as string;
      const cause =
        code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? `host ${e.url.hostname} not found`
          : code === 'ECONNREFUSED'
            ? 'connection refused'
            : code === 'ETIMEDOUT'
              ? 'no answer in time'
              : s.message;
      const service = e.store === 'postgres' ? 'PostgreSQL' : 'ClickHouse';
      const hint = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `fix the host in ${e.env}` : `start ${service} there, or fix ${e.env}`;
      return { message: `${e.store} ${where(e)}: ${cause}`, hint };
    }
    if (PG_CONNECT_TIMEOUT.test(s.message ?? '') && pg) {
      return { message: `postgres ${where(pg)}: no answer in time (${s.message})`, hint: `check that PostgreSQL is up and reachable, or fix ${pg.env}` };
    }
  }
  return { message, hint: GENERIC_HINT };
}

/** The user error for a store that could not be opened or asked (passes a UserError through). */
export function storeUnavailable(err: unknown, config?: IbexConfig): UserError {
  if (err instanceof UserError) return err;
  const { message, hint } = describe(err, config);
  return new UserError(`cannot reach the stores: ${message}`, hint);
}
