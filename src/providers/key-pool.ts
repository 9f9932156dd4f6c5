// A provider's upstream keys: which one the next attempt uses, and which are cooling down after a 429
// or a quota error (Isartor ADR-018). `round_robin` spreads load over the keys; `priority` always
// takes the first key that is not cooling (a primary key with spares).
import type { KeyStrategy } from '../config/types.js';

export interface PoolKey {
  /** The secret, sent upstream only */
  readonly value: string;
  /** Safe to show (`sk-…abcd`) */
  readonly masked: string;
  /** The environment variable the key came from (`OPENAI_API_KEY`), when known */
  readonly env?: string;
}

export interface KeyState {
  /** Masked (`sk-…abcd`), never the secret */
  key: string;
  /** The environment variable it came from, when known */
  env: string | null;
  /** epoch ms until which the key is left out, or null */
  coolingUntil: number | null;
  uses: number;
  cooldowns: number;
}

export class KeyPool {
  private next = 0;
  private readonly coolingUntil: number[];
  private readonly uses: number[];
  private readonly cooldowns: number[];

  constructor(
    private readonly keys: readonly PoolKey[],
    private readonly strategy: KeyStrategy,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.coolingUntil = keys.map(() => 0);
    this.uses = keys.map(() => 0);
    this.cooldowns = keys.map(() => 0);
  }

  get size(): number {
    return this.keys.length;
  }

  /** The index of the key for the next attempt, skipping `exclude` and cooling keys; null when none is left. */
  pick(exclude: ReadonlySet<number> = EMPTY): number | null {
    const n = this.keys.length;
    if (n === 0) return null;
    const t = this.now();
    const start = this.strategy === 'priority' ? 0 : this.next;
    for (let i = 0; i < n; i++) {
      const k = (start + i) % n;
      if (exclude.has(k) || this.coolingUntil[k]! > t) continue;
      if (this.strategy === 'round_robin') this.next = (k + 1) % n;
      this.uses[k]!++;
      return k;
    }
    return null;
  }

  /** Counts a use of a key chosen by the caller (a pinned key), not by pick(). */
  use(index: number): void {
    this.uses[index]!++;
  }

  value(index: number): string {
    return this.keys[index]!.value;
  }

  /** Leaves the key out for the cooldown (or until `retryAfterMs`, when the provider said longer). */
  cool(index: number, retryAfterMs: number | null = null): void {
    this.coolingUntil[index] = this.now() + Math.max(this.cooldownMs, retryAfterMs ?? 0);
    this.cooldowns[index]!++;
  }

  /** true when every key is cooling (the next fallback target should be tried). */
  exhausted(): boolean {
    const t = this.now();
    return this.keys.length > 0 && this.coolingUntil.every((until) => until > t);
  }

  states(): KeyState[] {
    const t = this.now();
    return this.keys.map((k, i) => ({
      key: k.masked,
      env: k.env ?? null,
      coolingUntil: this.coolingUntil[i]! > t ? this.coolingUntil[i]! : null,
      uses: this.uses[i]!,
      cooldowns: this.cooldowns[i]!,
    }));
  }
}

const EMPTY: ReadonlySet<number> = new Set();
