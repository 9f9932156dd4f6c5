// The Postgres connection pool and the rules every query follows: parameterised SQL only, small
// pool, bounded waits everywhere (connect, server-side statement, client-side query) so an outage
// makes calls reject within seconds instead of hanging, and an 'error' listener so a dropped idle
// connection never crashes the process.
import pg from 'pg';
import { markDataError } from '../errors.js';
import type { ParamEncode, RowDecode } from '../sql/decode.js';

export interface PgOptions {
  /** Pool size; small because the hot path only reads on cache misses. */
  max?: number;
  connectionTimeoutMs?: number;
  /** Server-side limit per statement */
  statementTimeoutMs?: number;
  /** Client-side limit per query (covers a server that stopped answering without closing) */
  queryTimeoutMs?: number;
}

const INT8_OID = 20;

/** BIGINT (epoch ms, counts, sequences) as a JS number: every value we keep is below 2^53. */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as typeof pg.types.getTypeParser,
};

export function connectionConfig(url: string, opts: PgOptions): pg.PoolConfig {
  return {
    connectionString: url,
    max: opts.max ?? 5,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 2000,
    idleTimeoutMillis: 10_000,
    statement_timeout: opts.statementTimeoutMs ?? 5000,
    query_timeout: opts.queryTimeoutMs ?? 8000,
    keepAlive: true,
    application_name: 'ibex',
    types: pgTypes,
  };
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

export class PgDb {
  readonly pool: pg.Pool;

  constructor(
    readonly url: string,
    readonly opts: PgOptions,
    /** Where lines about connection errors and background maintenance go (never secrets) */
    readonly log: (line: string) => void,
  ) {
    this.pool = new pg.Pool(connectionConfig(url, opts));
    // An idle client losing its connection emits here; without a listener Node would crash.
    this.pool.on('error', (err) => this.log(`storage: postgres connection lost: ${err.message}`));
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw markPgDataError(err);
    }
  }

  /**
   * Runs `fn` in a transaction on one pooled client. A client whose connection broke is destroyed,
   * not returned to the pool.
   */
  async tx<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client is not covered by the pool's listener: keep an error from crashing us.
    const onError = (err: Error) => this.log(`storage: postgres connection lost mid-transaction: ${err.message}`);
    client.on('error', onError);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error;
      }
      throw markPgDataError(err);
    } finally {
      client.off('error', onError);
      client.release(broken ?? false);
    }
  }

  private closing: Promise<void> | undefined;

  /** Ends the pool once (a second call waits for the first instead of throwing). */
  close(): Promise<void> {
    return (this.closing ??= this.pool.end());
  }
}

/** SQLSTATE of a pg error, e.g. 23505 unique_violation. */
export function pgCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Whether Postgres refused a statement for the values in it (the same values fail every time), as
 * opposed to not being able to answer. Data: class 22 (data exception: a NUL byte, a number out of
 * range, text a type cannot parse), class 23 (integrity: not null, check, foreign key), 54000 (a
 * value too large for an index row). Everything else is availability and is retried: connection
 * errors (08xxx, and no SQLSTATE at all for ECONNREFUSED or a pool/query timeout), 57P01 shutdown,
 * 40xxx serialization and deadlock, 53xxx resources, and 42xxx too (a missing table or privilege
 * fails every item alike, and setting them all aside would lose good data).
 */
export function isPgDataError(err: unknown): boolean {
  const code = pgCode(err);
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return code.startsWith('22') || code.startsWith('23') || code === '54000';
}

/** Marks a data failure for the write-behind queue (src/stores/errors.ts); returns the error. */
export function markPgDataError(err: unknown): unknown {
  return isPgDataError(err) ? markDataError(err) : err;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

/** Postgres text cannot hold NUL; a model reply containing one must not poison a whole batch. */
export const stripNul = (s: string | null): string | null => (s === null ? null : s.replaceAll('\u0000', '\uFFFD'));

/**
 * Advisory lock keys (one shared bigint key space per database). The two sequences are taken with
 * pg_advisory_xact_lock around "max + 1": unlike a SEQUENCE, that makes commit order equal number
 * order, which is what a `seq > cursor` poller needs to never skip a row.
 */
export const LOCKS = {
  migrations: '7305041792211',
  patSeq: '7305041792212',
  revocationSeq: '7305041792213',
} as const;

/** Postgres's side of the shared row mappers in src/stores/sql: json and array columns arrive parsed, booleans as booleans. */
export const pgDecode: RowDecode<unknown, boolean> = { json: (v) => v, bool: (v) => v };
export const pgEncode: ParamEncode = { bool: (v) => v };
