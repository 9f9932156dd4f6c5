// Two kinds of failed store write, which the write-behind queue (src/traces/batch-queue.ts) must
// handle differently:
// - availability: the store could not be reached or could not answer now (connection refused,
//   timeout, server shutting down, disk busy). Retrying later succeeds: retry with backoff, spool.
// - data: the store answered and refused what it was given (a value it cannot hold, a constraint).
//   Retrying the same batch fails the same way forever, so the queue splits the batch to find the
//   refused items and sets them aside (dead letters) instead of blocking everything behind them.
//
// Each adapter knows its driver's errors and marks the data ones (markDataError, or by throwing a
// StoreDataError); everything unmarked counts as availability. That way the queue stays
// store-agnostic, and an error nobody classified is retried rather than set aside: a good item is
// never dead-lettered because of an outage.

const DATA_ERROR = Symbol.for('ibex.store.dataError');

/** A write the store refused because of what was in it; retrying the same items cannot succeed. */
export class StoreDataError extends Error {
  /** The driver's code, when it has one (SQLSTATE, ClickHouse code, SQLITE_…) */
  readonly code: string | undefined;

  constructor(message: string, opts: { code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StoreDataError';
    this.code = opts.code;
  }
}

/**
 * Marks a driver error as a data failure, keeping the error itself (its class and `code` still
 * matter to other callers, e.g. unique-violation checks). Returns it, for `throw markDataError(e)`.
 */
export function markDataError<E>(err: E): E {
  if (typeof err === 'object' && err !== null) {
    try {
      Object.defineProperty(err, DATA_ERROR, { value: true, enumerable: false, configurable: true });
    } catch {
      // A frozen error cannot be marked: it is treated as availability (retried), the safe side.
    }
  }
  return err;
}

/** true if a store refused the write because of its data (see the top of this file). */
export function isStoreDataError(err: unknown): boolean {
  if (err instanceof StoreDataError) return true;
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[DATA_ERROR] === true;
}

/** The driver code of an error, if it carries one, for dead-letter records and logs. */
export function storeErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}
