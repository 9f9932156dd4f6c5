// Which store errors count as "the store refused the data" (dead-lettered after isolation) and which
// as "the store could not answer" (retried): each adapter's classifier, on the errors its driver
// throws. The integration tests (test/integration/poisoned-writes.test.ts) check real servers' errors.
import { describe, expect, it } from 'vitest';
import { isStoreDataError, markDataError, StoreDataError, storeErrorCode } from '../../src/stores/errors.js';
import { isPgDataError, markPgDataError } from '../../src/stores/postgres/db.js';
import { isClickHouseDataError } from '../../src/stores/clickhouse/index.js';
import { isSqliteDataError } from '../../src/stores/sqlite/writer.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('marking', () => {
  it('StoreDataError and marked errors are data errors; anything else is not', () => {
    expect(isStoreDataError(new StoreDataError('x', { code: '1' }))).toBe(true);
    const err = withCode('duplicate', '23505');
    expect(markDataError(err)).toBe(err); // the same error, class and code kept
    expect(isStoreDataError(err)).toBe(true);
    expect(err.code).toBe('23505');
    expect(isStoreDataError(new Error('down'))).toBe(false);
    expect(isStoreDataError('a string')).toBe(false);
    expect(isStoreDataError(null)).toBe(false);
    expect(isStoreDataError(Object.freeze(markDataError(Object.freeze(new Error('frozen')))))).toBe(false);
    expect(storeErrorCode(err)).toBe('23505');
    expect(storeErrorCode(new Error('x'))).toBeUndefined();
  });
});

describe('Postgres', () => {
  it.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
    ['22003', 'integer out of range'],
    ['22P02', 'invalid input syntax for type integer'],
    ['22P05', 'unsupported Unicode escape sequence'],
    ['23502', 'null value in column violates not-null constraint'],
    ['23514', 'check constraint'],
    ['54000', 'index row size exceeds maximum'],
  ])('%s (%s) is data', (code, message) => {
    expect(isPgDataError(withCode(message, code))).toBe(true);
    expect(isStoreDataError(markPgDataError(withCode(message, code)))).toBe(true);
  });

  it.each([
    ['08006', 'connection failure'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57014', 'canceling statement due to statement timeout'],
    ['40P01', 'deadlock detected'],
    ['40001', 'could not serialize access'],
    ['53300', 'too many connections'],
    ['42P01', 'relation "checkpoints" does not exist'],
    ['42501', 'permission denied'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'],
    ['EPIPE', 'write EPIPE'],
  ])('%s (%s) is availability', (code, message) => {
    expect(isPgDataError(withCode(message, code))).toBe(false);
    expect(isStoreDataError(markPgDataError(withCode(message, code)))).toBe(false);
  });

  it('errors without a code (pool and query timeouts, a closed pool) are availability', () => {
    for (const m of ['timeout exceeded when trying to connect', 'Query read timeout', 'Cannot use a pool after calling end on the pool']) {
      expect(isPgDataError(new Error(m))).toBe(false);
    }
  });
});

describe('ClickHouse', () => {
  it('parse and type errors are data, in 18.16 form (plain Error) and in the client\'s ClickHouseError form', () => {
    expect(isClickHouseDataError(new Error('Code: 25, e.displayText() = DB::Exception: Cannot parse escape sequence: missing second part of surrogate pair, e.what() = DB::Exception'))).toBe(true);
    expect(isClickHouseDataError(new Error('Code: 26, e.displayText() = DB::Exception: Cannot parse JSON string: expected opening quote'))).toBe(true);
    expect(isClickHouseDataError(withCode('Cannot parse input: expected \',\' before', '27'))).toBe(true);
    expect(isClickHouseDataError(withCode('Value out of range', '321'))).toBe(true);
  });

  it('server state, a missing column and network errors are availability', () => {
    expect(isClickHouseDataError(withCode('Memory limit exceeded', '241'))).toBe(false);
    expect(isClickHouseDataError(withCode('Too many parts', '252'))).toBe(false);
    expect(isClickHouseDataError(new Error('Code: 60, e.displayText() = DB::Exception: Table db.traces doesn\'t exist'))).toBe(false);
    expect(isClickHouseDataError(new Error('Code: 117, e.displayText() = DB::Exception: Unknown field found while parsing JSONEachRow format: client_request_id'))).toBe(false);
    expect(isClickHouseDataError(withCode('connect ECONNREFUSED 127.0.0.1:8123', 'ECONNREFUSED'))).toBe(false);
    expect(isClickHouseDataError(new Error('Timeout error.'))).toBe(false);
    expect(isClickHouseDataError('Code: 25')).toBe(false);
  });
});

describe('SQLite', () => {
  it('constraints, type mismatches, oversized values and unbindable values are data', () => {
    expect(isSqliteDataError(withCode('NOT NULL constraint failed: checkpoints.status', 'SQLITE_CONSTRAINT_NOTNULL'))).toBe(true);
    expect(isSqliteDataError(withCode('CHECK constraint failed', 'SQLITE_CONSTRAINT_CHECK'))).toBe(true);
    expect(isSqliteDataError(withCode('datatype mismatch', 'SQLITE_MISMATCH'))).toBe(true);
    expect(isSqliteDataError(withCode('string or blob too big', 'SQLITE_TOOBIG'))).toBe(true);
    expect(isSqliteDataError(new TypeError('SQLite3 can only bind numbers, strings, bigints, buffers, and null'))).toBe(true);
  });

  it('busy, locked, I/O, full, read-only and anything unknown are availability', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR_WRITE', 'SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_CANTOPEN']) {
      expect(isSqliteDataError(withCode('x', code))).toBe(false);
    }
    expect(isSqliteDataError(new Error('sqlite writer exited (1)'))).toBe(false);
    expect(isSqliteDataError(new TypeError('Cannot read properties of undefined'))).toBe(false);
  });
});
