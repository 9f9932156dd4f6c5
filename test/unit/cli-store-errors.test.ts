// The one mapping from "a store could not be used" to an operator's error and hint, and the test
// `serve` uses to tell such a failure from a bug.
import { describe, expect, it } from 'vitest';
import { isStoreError, storeUnavailable } from '../../src/cli/store-errors.js';
import { loadConfig } from '../../src/config.js';
import { UserError } from '../../src/errors.js';

const config = (env: Record<string, string>) => loadConfig({}, { IBEX_HOME: '/tmp/ibex-unit-nowhere', ...env });
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
const sysError = (code: string, extra: Record<string, unknown>) => Object.assign(new Error(`connect ${code}`), { code, syscall: 'connect', ...extra });

describe('storeUnavailable', () => {
  const pg = config({ IBEX_DATABASE_URL: 'postgres://ibex:pw@db.internal:5433/ibex_prod' });

  it('a missing database: names it and suggests createdb with host, port and user', () => {
    const e = storeUnavailable(pgError('3D000', 'database "ibex_prod" does not exist'), pg);
    expect(e.message).toBe('cannot reach the stores: postgres db.internal:5433/ibex_prod: database "ibex_prod" does not exist');
    expect(e.hint).toBe('create it with `createdb -h db.internal -p 5433 -U ibex ibex_prod` (ibex creates its tables itself), or fix IBEX_DATABASE_URL');
    expect(`${e.message}${e.hint}`).not.toContain('pw');
  });

  it('a refused login, a refused connection, an unknown host', () => {
    expect(storeUnavailable(pgError('28P01', 'password authentication failed for user "ibex"'), pg).hint).toMatch(/user and password in IBEX_DATABASE_URL/);
    const refused = storeUnavailable(sysError('ECONNREFUSED', { address: '10.0.0.5', port: 5433 }), pg);
    expect(refused.message).toBe('cannot reach the stores: postgres db.internal:5433/ibex_prod: connection refused');
    expect(refused.hint).toBe('start PostgreSQL there, or fix IBEX_DATABASE_URL');
    const unknown = storeUnavailable(Object.assign(new Error('getaddrinfo ENOTFOUND db.internal'), { code: 'ENOTFOUND', hostname: 'db.internal' }), pg);
    expect(unknown.message).toBe('cannot reach the stores: postgres db.internal:5433/ibex_prod: host db.internal not found');
    expect(unknown.hint).toBe('fix the host in IBEX_DATABASE_URL');
  });

  it('finds the store a refused connection was for among several (also inside an AggregateError)', () => {
    const both = config({ IBEX_DATABASE_URL: 'postgres://db:5432/ibex', IBEX_CLICKHOUSE_URL: 'http://ch:8123/traces' });
    const agg = Object.assign(new AggregateError([sysError('ECONNREFUSED', { address: '::1', port: 8123 }), sysError('ECONNREFUSED', { address: '127.0.0.1', port: 8123 })]), {
      code: 'ECONNREFUSED',
    });
    const e = storeUnavailable(agg, both);
    expect(e.message).toBe('cannot reach the stores: clickhouse ch:8123/traces: connection refused');
    expect(e.hint).toBe('start ClickHouse there, or fix IBEX_CLICKHOUSE_URL');
  });

  it('passes a UserError through; anything else keeps its message and the general hint', () => {
    const own = new UserError('cannot reach Redis', 'start Redis');
    expect(storeUnavailable(own, pg)).toBe(own);
    const e = storeUnavailable(new Error('SQLITE_CANTOPEN: unable to open database file'), config({}));
    expect(e.message).toBe('cannot reach the stores: SQLITE_CANTOPEN: unable to open database file');
    expect(e.hint).toMatch(/IBEX_DATABASE_URL/);
  });
});

describe('isStoreError', () => {
  it('store and connection failures yes, bugs no', () => {
    expect(isStoreError(pgError('3D000', 'x'))).toBe(true);
    expect(isStoreError(sysError('ECONNREFUSED', {}))).toBe(true);
    expect(isStoreError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isStoreError(new Error('Code: 192, e.displayText() = DB::Exception: Unknown user nobody'))).toBe(true);
    expect(isStoreError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isStoreError(Object.assign(new Error('EACCES'), { code: 'EACCES' }))).toBe(false);
  });
});
