// The ledger of spend shared by every replica through Redis. One Lua script per operation, so each is
// one atomic round trip (EVALSHA): a reservation checks every counter and, only if all have room,
// adds to all of them; no other replica's reservation can interleave between the check and the add.
// That is what makes a budget exact across replicas: the sum of reservations never passes a limit,
// and a request's final spend differs from its reservation only by its estimate's error.
//
// Counters hold whole numbers (tokens, micro-USD) with INCRBY: exact, unlike INCRBYFLOAT. A counter's
// key names its window, and it expires a little after the window ends.
//
// Errors are thrown: what to do when Redis is down is the caller's choice (usage/outage.ts,
// IBEX_BUDGET_ON_STORE_ERROR).
import type { Redis } from 'ioredis';
import type { BudgetReservation, BudgetStore, SpendCounter } from '../ports.js';
import { DEFAULT_REDIS_PREFIX } from './connection.js';

// KEYS: the counters. ARGV: for each counter, amount, limit (-1 = none), ttl ms.
// Returns {1, v1, v2, …} with the values after the add, or {0, i, v1, v2, …} when counter i had no room.
const RESERVE_SCRIPT = `
local n = #KEYS
local vals = {}
for i = 1, n do vals[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
for i = 1, n do
  local amount = tonumber(ARGV[(i - 1) * 3 + 1])
  local limit = tonumber(ARGV[(i - 1) * 3 + 2])
  if limit >= 0 and (vals[i] >= limit or vals[i] + amount > limit) then
    return {0, i, unpack(vals)}
  end
end
for i = 1, n do
  vals[i] = redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 3 + 1])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 3 + 3]) end
end
return {1, unpack(vals)}
`;

// KEYS: the counters. ARGV: for each counter, delta, ttl ms. A counter that expired meanwhile is
// recreated with the delta and an expiry (never left without one).
const RECONCILE_SCRIPT = `
for i = 1, #KEYS do
  local d = tonumber(ARGV[(i - 1) * 2 + 1])
  if d ~= 0 then
    redis.call('INCRBY', KEYS[i], d)
    if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 2 + 2]) end
  end
end
return 1
`;

const RESERVE = 'ibexBudgetReserve';
const RECONCILE = 'ibexBudgetReconcile';

type Script = (...args: (string | number)[]) => Promise<unknown>;
type WithScripts = Redis & Record<typeof RESERVE | typeof RECONCILE, Script>;

export interface RedisBudgetStoreOptions {
  /** Key prefix isolating this deployment (or test run). Default `ibex:`. */
  prefix?: string;
}

export class RedisBudgetStore implements BudgetStore {
  private readonly client: WithScripts;
  private readonly prefix: string;

  constructor(client: Redis, opts: RedisBudgetStoreOptions = {}) {
    const commands = client as unknown as Record<string, unknown>;
    // numberOfKeys omitted: each call passes its own count (a request has 0–14 counters).
    if (typeof commands[RESERVE] !== 'function') client.defineCommand(RESERVE, { lua: RESERVE_SCRIPT });
    if (typeof commands[RECONCILE] !== 'function') client.defineCommand(RECONCILE, { lua: RECONCILE_SCRIPT });
    this.client = client as WithScripts;
    this.prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
  }

  async reserve(counters: SpendCounter[], amounts: number[]): Promise<BudgetReservation> {
    if (counters.length === 0) return { allowed: true, denied: null, spent: [], counters, amounts, via: 'store' };
    const args: (string | number)[] = [counters.length, ...counters.map((c) => this.prefix + c.key)];
    counters.forEach((c, i) => args.push(whole(amounts[i]!), c.limit === null ? -1 : whole(c.limit), Math.max(1, Math.ceil(c.ttlMs))));
    const reply = (await this.client[RESERVE](...args)) as number[];
    if (Number(reply[0]) === 1) {
      return { allowed: true, denied: null, spent: reply.slice(1).map(Number), counters, amounts, via: 'store' };
    }
    return { allowed: false, denied: Number(reply[1]) - 1, spent: reply.slice(2).map(Number), counters, amounts, via: 'store' };
  }

  async reconcile(r: BudgetReservation, actual: number[]): Promise<void> {
    if (!r.allowed || r.counters.length === 0) return;
    const deltas = r.counters.map((_, i) => whole(actual[i] ?? 0) - whole(r.amounts[i]!));
    if (deltas.every((d) => d === 0)) return;
    const args: (string | number)[] = [r.counters.length, ...r.counters.map((c) => this.prefix + c.key)];
    r.counters.forEach((c, i) => args.push(deltas[i]!, Math.max(1, Math.ceil(c.ttlMs))));
    await this.client[RECONCILE](...args);
  }

  async read(keys: string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(...keys.map((k) => this.prefix + k));
    return values.map((v) => Number(v ?? 0));
  }
}

/** Counters hold integers; amounts are made so before they reach the script. */
function whole(n: number): number {
  return Number.isFinite(n) ? Math.round(n) : 0;
}
