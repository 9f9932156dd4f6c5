// The auth stage for a raw bearer token: format check → LRU → bloom filter → validator.
//
// Two promises pull against each other and both hold:
// (a) a PAT created a moment ago by another process (the CLI) works on its very first request,
//     before any poll or push has told this process about it;
// (b) a flood of well-formed but never-issued tokens cannot push more than a small, fixed budget
//     of lookups per second to the store / auth server.
// How: a bloom filter of every issued hash answers "never issued" in memory. A bloom-negative token
// may still be brand new, so it gets a store lookup if a token bucket allows (default 20/s, burst
// 20). When the bucket is empty it instead waits for a refresh of the bloom filter (one
// `createdSince(cursor)` query shared by every waiter, started after the request arrived and at most
// one per `refreshMinIntervalMs`): a token created before the request is then in the filter and
// gets its lookup, a random one is rejected. So store traffic from a flood is bounded by
// `burst + rate·t` lookups plus `t / refreshMinIntervalMs` cheap index queries, whatever its size.
// Bloom-positive misses (real tokens, plus ~errorRate of random ones) are looked up without a budget;
// concurrent lookups of one hash share one promise.
//
// Revocation is explicit eviction (`evictHash`, driven by RevocationWatcher); the positive TTL is
// only a safety net. An evicted hash also goes into a `revoked` set, checked when a lookup returns,
// so a lookup that was in flight while the revocation arrived cannot put the stale principal back.
import { LRUCache } from 'lru-cache';
import { IbexError } from '../errors.js';
import type { Bus } from '../stores/ports.js';
import { isWellFormedPat, hashToken } from './pat.js';
import { withDeadline } from '../util/deadline.js';
import { isExpired, isTokenHash, type Principal, type TokenIndexSource, type TokenValidator } from './principal.js';
import { TokenBucket } from './token-bucket.js';
import { TokenIndex } from './token-index.js';

/** One per `authenticate` call; the first four are the `ibex_auth_cache_lookups_total` labels. */
export type AuthOutcome = 'hit' | 'miss' | 'bloom_reject' | 'budget_reject' | 'negative_hit' | 'malformed' | 'expired';

export interface AuthCacheOptions {
  validator: TokenValidator;
  /** Feed of issued hashes for the bloom filter (a TokenStore, or the gRPC client). */
  index: TokenIndexSource;
  /** Subscribed for 'pat-created' `{ hash }` so a new PAT enters the filter at once. */
  bus?: Bus;
  log?: (line: string) => void;
  /** Principals kept. Default 10,000. */
  maxEntries?: number;
  /** Safety-net lifetime of a cached principal (revocation evicts explicitly). Default 60 s. */
  positiveTtlMs?: number;
  /** How long a hash the validator called unknown is rejected without asking again. Default 10 s. */
  negativeTtlMs?: number;
  negativeMaxEntries?: number;
  /** Lookups of bloom-negative hashes allowed per second / at once. Default 20 / 20. */
  unknownLookupsPerSecond?: number;
  unknownLookupBurst?: number;
  /** Minimum gap between on-demand bloom refreshes (flood path). Default 250 ms. */
  refreshMinIntervalMs?: number;
  /** Background `createdSince` poll. Default (and maximum) 1000 ms. */
  pollIntervalMs?: number;
  /** Deadline passed to the validator on a miss; default: the validator's own. */
  lookupDeadlineMs?: number;
  /** Deadline of one `createdSince` call. Default 5 s (a full rebuild may read many hashes). */
  indexDeadlineMs?: number;
  bloomErrorRate?: number;
  /** Called once per authenticate() with its outcome (metrics). Must not throw. */
  onOutcome?: (outcome: AuthOutcome) => void;
  /** Wall clock for expiry checks (tests). */
  now?: () => number;
}

export interface AuthCacheStats {
  hits: number;
  misses: number;
  /** Validator calls made (coalesced callers not counted) */
  lookups: number;
  /** Callers that joined an in-flight lookup of the same hash */
  coalesced: number;
  /** Lookups of bloom-negative hashes, paid from the budget */
  unknownLookups: number;
  /** Rejected because the bloom filter (after a refresh) never saw the hash */
  bloomRejects: number;
  /** Times the unknown-lookup budget was empty (the request then waited for a bloom refresh) */
  budgetExhausted: number;
  /** Rejected (503) because the budget was empty and the bloom could not be refreshed */
  budgetRejects: number;
  /** Rejected from the negative cache or the revoked set */
  negativeHits: number;
  malformed: number;
  expired: number;
  /** Validator failures (→ 503) */
  errors: number;
  /** Successful `createdSince` calls */
  indexRefreshes: number;
  /** Cached principals */
  size: number;
  /** Hashes in the bloom filter (0 until loaded) */
  indexSize: number;
  indexLoaded: boolean;
}

const MISSING = 'Missing API key. Send `Authorization: Bearer ibex_pat_…`.';
const MALFORMED = 'Malformed API key: PATs look like `ibex_pat_…` (check for a typo or a truncated copy).';
const UNKNOWN = 'Incorrect API key provided (unknown or revoked).';
const EXPIRED = 'This API key has expired.';

function invalidKey(message: string): IbexError {
  return new IbexError('IBEX_ERR_INVALID_API_KEY', { message });
}

export class AuthCache {
  private readonly validator: TokenValidator;
  private readonly source: TokenIndexSource;
  private readonly bus?: Bus;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly onOutcome: (o: AuthOutcome) => void;
  private readonly positiveTtlMs: number;
  private readonly refreshMinIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly lookupDeadlineMs?: number;
  private readonly indexDeadlineMs: number;
  private readonly bloomErrorRate: number;

  private readonly principals: LRUCache<string, Principal>;
  /**
   * token → its SHA-256, for tokens that authenticated: a cache hit then costs two map lookups instead
   * of a hash (measured: SHA-256 was ~3 % of the gateway's CPU under load). Only a memo of a pure
   * function: revocation, expiry and TTL are still decided by `principals`, keyed by hash. Only tokens
   * that were valid get in, so unknown tokens cannot churn it.
   */
  private readonly hashes: LRUCache<string, string>;
  private readonly negative: LRUCache<string, true>;
  /** Hashes revoked while this process ran. Tokens are never un-revoked, so no TTL. */
  private readonly revoked = new LRUCache<string, true>({ max: 100_000 });
  private readonly inflight = new Map<string, Promise<Principal | null>>();
  private readonly bucket: TokenBucket;

  private index: TokenIndex | null = null;
  private cursor = 0;
  /** Hashes learned while a rebuild is reading the source, re-added to the new filter. */
  private rebuildJournal: string[] | null = null;
  /** Serializes createdSince calls (the cursor is shared). */
  private syncChain: Promise<unknown> = Promise.resolve();
  /** An on-demand refresh that has not started yet: requests arriving now can still join it. */
  private pendingRefresh: Promise<boolean> | null = null;
  private lastSyncStart = -Infinity;
  private syncFailing = false;

  private pollTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = true;

  private readonly counters = {
    hits: 0,
    misses: 0,
    lookups: 0,
    coalesced: 0,
    unknownLookups: 0,
    bloomRejects: 0,
    budgetExhausted: 0,
    budgetRejects: 0,
    negativeHits: 0,
    malformed: 0,
    expired: 0,
    errors: 0,
    indexRefreshes: 0,
  };

  constructor(opts: AuthCacheOptions) {
    this.validator = opts.validator;
    this.source = opts.index;
    this.bus = opts.bus;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.onOutcome = opts.onOutcome ?? (() => {});
    this.positiveTtlMs = opts.positiveTtlMs ?? 60_000;
    this.refreshMinIntervalMs = opts.refreshMinIntervalMs ?? 250;
    this.pollIntervalMs = Math.min(opts.pollIntervalMs ?? 1000, 1000);
    this.lookupDeadlineMs = opts.lookupDeadlineMs;
    this.indexDeadlineMs = opts.indexDeadlineMs ?? 5000;
    this.bloomErrorRate = opts.bloomErrorRate ?? 1e-4;
    // ttlResolution 0: read the clock on each lookup. lru-cache's default caches it for 1 ms behind a
    // setTimeout, which under load is a timer armed every millisecond — dearer than the clock read.
    const ttlResolution = 0;
    this.principals = new LRUCache({ max: opts.maxEntries ?? 10_000, ttl: this.positiveTtlMs, ttlResolution });
    this.hashes = new LRUCache({ max: opts.maxEntries ?? 10_000, ttl: this.positiveTtlMs, ttlResolution });
    this.negative = new LRUCache({ max: opts.negativeMaxEntries ?? 10_000, ttl: opts.negativeTtlMs ?? 10_000, ttlResolution });
    this.bucket = new TokenBucket(opts.unknownLookupsPerSecond ?? 20, opts.unknownLookupBurst ?? 20);
  }

  /**
   * Loads the bloom filter and starts keeping it current. If the source cannot answer, start still
   * resolves (the gateway can serve; unknown tokens stay on the budget) and the poll keeps retrying.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    // Subscribe before the first load so a PAT created in between is not missed.
    this.unsubscribe =
      this.bus?.subscribe('pat-created', (msg) => {
        const hash = (msg as { hash?: unknown } | null)?.hash;
        if (isTokenHash(hash)) this.learn(hash);
      }) ?? null;
    await this.sync().catch(() => {});
    this.schedulePoll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.syncChain.catch(() => {});
  }

  /** The whole auth stage: returns the principal or throws IbexError (401, or 503 when it cannot tell). */
  async authenticate(token: string | null | undefined): Promise<Principal> {
    // A token that authenticated recently was well formed; its hash is remembered (see `hashes`).
    const known = typeof token === 'string' ? this.hashes.get(token) : undefined;
    if (typeof token !== 'string' || (known === undefined && !isWellFormedPat(token))) {
      this.counters.malformed++;
      this.onOutcome('malformed');
      throw invalidKey(token ? MALFORMED : MISSING);
    }
    const hash = known ?? hashToken(token);
    const cached = this.principals.get(hash);
    if (cached !== undefined) {
      if (isExpired(cached, this.now())) {
        this.principals.delete(hash);
        this.counters.expired++;
        this.onOutcome('expired');
        throw invalidKey(EXPIRED);
      }
      this.counters.hits++;
      this.onOutcome('hit');
      return cached;
    }
    return this.authenticateMiss(token, hash);
  }

  private async authenticateMiss(token: string, hash: string): Promise<Principal> {
    this.counters.misses++;
    if (this.revoked.has(hash) || this.negative.has(hash)) {
      this.counters.negativeHits++;
      this.onOutcome('negative_hit');
      throw invalidKey(UNKNOWN);
    }
    // Joining a lookup already in flight costs the store nothing: no budget needed.
    if (!this.inflight.has(hash) && !this.indexHas(hash)) {
      if (this.bucket.take()) {
        this.counters.unknownLookups++;
      } else {
        this.counters.budgetExhausted++;
        const refreshed = await this.refreshIndex();
        // While we waited, a lookup by another request may have cached it.
        const meanwhile = this.principals.get(hash);
        if (meanwhile !== undefined && !isExpired(meanwhile, this.now())) {
          this.onOutcome('hit');
          return meanwhile;
        }
        // ...or found it unknown, or it was revoked.
        if (this.revoked.has(hash) || this.negative.has(hash)) {
          this.counters.negativeHits++;
          this.onOutcome('negative_hit');
          throw invalidKey(UNKNOWN);
        }
        if (!this.indexHas(hash) && !this.inflight.has(hash)) {
          if (!refreshed) {
            // Neither a lookup nor a current filter: we cannot tell a new PAT from garbage.
            this.counters.budgetRejects++;
            this.onOutcome('budget_reject');
            throw new IbexError('IBEX_ERR_SERVICE_UNAVAILABLE', {
              message: 'Cannot verify this API key right now (token index unavailable); retry shortly.',
            });
          }
          this.counters.bloomRejects++;
          this.onOutcome('bloom_reject');
          throw invalidKey(UNKNOWN);
        }
      }
    }
    this.onOutcome('miss');
    let principal: Principal | null;
    try {
      principal = await this.lookup(hash);
    } catch (err) {
      this.counters.errors++;
      if (err instanceof IbexError) throw err;
      throw new IbexError('IBEX_ERR_SERVICE_UNAVAILABLE', {
        message: 'The token store did not answer; retry shortly.',
        cause: err,
      });
    }
    // Re-checked here too: the revocation may have landed after the shared lookup resolved.
    if (!principal || this.revoked.has(hash)) throw invalidKey(UNKNOWN);
    if (isExpired(principal, this.now())) {
      this.counters.expired++;
      throw invalidKey(EXPIRED);
    }
    this.hashes.set(token, hash);
    return principal;
  }

  /** One validator call per hash at a time; its result is cached unless revoked meanwhile. */
  private lookup(hash: string): Promise<Principal | null> {
    const running = this.inflight.get(hash);
    if (running) {
      this.counters.coalesced++;
      return running;
    }
    this.counters.lookups++;
    const flight = this.lookupOnce(hash);
    this.inflight.set(hash, flight);
    const done = () => {
      if (this.inflight.get(hash) === flight) this.inflight.delete(hash);
    };
    flight.then(done, done);
    return flight;
  }

  private async lookupOnce(hash: string): Promise<Principal | null> {
    const found = await this.validator.validate(hash, { deadlineMs: this.lookupDeadlineMs });
    if (this.revoked.has(hash)) return null;
    if (!found) {
      this.negative.set(hash, true);
      return null;
    }
    const principal = Object.freeze({ ...found, hash, agents: Object.freeze([...found.agents]) as string[] });
    const now = this.now();
    if (!isExpired(principal, now)) {
      const ttl = principal.expiresAt === null ? this.positiveTtlMs : Math.min(this.positiveTtlMs, principal.expiresAt - now);
      this.principals.set(hash, principal, { ttl });
    }
    // A real token the filter did not know yet: next time it needs no budget.
    if (!this.indexHas(hash)) this.learn(hash);
    return principal;
  }

  /** Revocation: drop the principal and refuse the hash from now on, in-flight lookups included. */
  evictHash(hash: string): void {
    this.revoked.set(hash, true);
    this.principals.delete(hash);
    this.inflight.delete(hash);
  }

  /** Drops every cached principal and negative answer (revocations are kept). */
  clear(): void {
    this.principals.clear();
    this.negative.clear();
  }

  stats(): AuthCacheStats {
    return {
      ...this.counters,
      size: this.principals.size,
      indexSize: this.index?.size ?? 0,
      indexLoaded: this.index !== null,
    };
  }

  // ---- the bloom filter ----

  private indexHas(hash: string): boolean {
    return this.index !== null && this.index.has(hash);
  }

  /** A hash that was issued: into the filter, out of the negative cache. */
  private learn(hash: string): void {
    this.negative.delete(hash);
    this.rebuildJournal?.push(hash);
    if (this.index && !this.index.has(hash)) this.index.add(hash);
  }

  /**
   * Resolves after a refresh that STARTED after this call (so it sees every PAT created before the
   * request arrived): true if it succeeded. Callers share one refresh; starts are at least
   * `refreshMinIntervalMs` apart, so a flood cannot turn into a query storm.
   */
  private refreshIndex(): Promise<boolean> {
    if (this.pendingRefresh) return this.pendingRefresh;
    const wait = Math.max(0, this.lastSyncStart + this.refreshMinIntervalMs - performance.now());
    const pending = new Promise<boolean>((resolve) => {
      setTimeout(() => {
        this.pendingRefresh = null; // later arrivals need a later refresh
        this.sync().then(
          () => resolve(true),
          () => resolve(false),
        );
      }, wait);
    });
    this.pendingRefresh = pending;
    return pending;
  }

  /** One createdSince step (or a full rebuild when not loaded / full), serialized. Rejects on failure. */
  private sync(): Promise<void> {
    const run = this.syncChain.then(() => this.syncOnce());
    this.syncChain = run.catch(() => {});
    return run;
  }

  private async syncOnce(): Promise<void> {
    this.lastSyncStart = performance.now();
    try {
      if (!this.index || this.index.full) {
        await this.rebuild();
      } else {
        const page = await withDeadline(this.source.createdSince(this.cursor), this.indexDeadlineMs, 'token index');
        for (const h of page.hashes) this.learn(h);
        this.cursor = Math.max(this.cursor, page.cursor);
      }
      this.counters.indexRefreshes++;
      if (this.syncFailing) this.log('auth: token index reachable again');
      this.syncFailing = false;
    } catch (err) {
      if (!this.syncFailing) {
        this.log(
          `auth: token index unavailable (${(err as Error).message}); retrying every ${this.pollIntervalMs} ms, ` +
            'cached tokens still served, new ones limited to the lookup budget',
        );
      }
      this.syncFailing = true;
      throw err;
    }
  }

  private async rebuild(): Promise<void> {
    const journal: string[] = [];
    this.rebuildJournal = journal;
    try {
      const all = await withDeadline(this.source.createdSince(0), this.indexDeadlineMs, 'token index');
      const index = new TokenIndex(all.hashes, all.hashes.length + journal.length, { errorRate: this.bloomErrorRate });
      for (const h of journal) index.add(h);
      this.index = index;
      this.cursor = Math.max(this.cursor, all.cursor);
    } finally {
      this.rebuildJournal = null;
    }
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.sync()
        .catch(() => {})
        .finally(() => this.schedulePoll());
    }, this.pollIntervalMs);
    this.pollTimer.unref();
  }
}
