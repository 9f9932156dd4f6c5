// The price of a model, from the built-in table (prices.json: one dated data file) and the operator's
// overrides (`pricing:` in ibex.yaml, passed to the constructor). Prices are USD per 1M tokens.
//
// A model is looked up by what the trace knows: the provider that served it and the model name it was
// served under. Provider names are the operator's own (`backup`, `azure-eu`…), so after the exact
// `provider/model` key the bare model name is tried, and then the name without a snapshot suffix
// (`gpt-4o-mini-2024-07-18`, `claude-3-5-haiku-20241022`, `…-latest`): a dated snapshot costs what its
// family costs unless a more specific entry says otherwise. Unknown → null (never 0: "free" and
// "unknown" are different answers).
import builtin from './prices.json' with { type: 'json' };

export interface ModelPrice {
  /** USD per 1M input (prompt) tokens */
  input: number;
  /** USD per 1M prompt tokens read from the provider's prompt cache */
  cachedInput: number;
  /** USD per 1M output (completion) tokens, reasoning tokens included */
  output: number;
}

export interface PriceMatch extends ModelPrice {
  /** The table key that matched, e.g. `openai/gpt-4o-mini` */
  key: string;
  /** Where it came from */
  source: 'override' | 'builtin';
}

/** What an override may omit: cachedInput defaults to input. */
export type PriceOverride = Omit<ModelPrice, 'cachedInput'> & { cachedInput?: number };

/** The date the built-in table was checked against the providers' pricing pages. */
export const BUILTIN_PRICES_UPDATED: string = builtin.updated;

const SNAPSHOT_SUFFIX = /(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8})|-latest)$/;

interface Index {
  /** `provider/model` → price */
  exact: Map<string, PriceMatch>;
  /** bare model → price (the first provider listing it wins) */
  bare: Map<string, PriceMatch>;
}

/**
 * `bareFromQualified`: whether a `provider/model` entry also answers for the bare model name. True for
 * the built-in table (its provider part is a namespace); false for overrides, where `azure/gpt-4o`
 * means that provider's price only.
 */
function buildIndex(entries: Iterable<[string, PriceOverride]>, source: PriceMatch['source'], bareFromQualified: boolean): Index {
  const exact = new Map<string, PriceMatch>();
  const bare = new Map<string, PriceMatch>();
  for (const [key, p] of entries) {
    const price: PriceMatch = { input: p.input, cachedInput: p.cachedInput ?? p.input, output: p.output, key, source };
    const slash = key.indexOf('/');
    if (slash > 0) exact.set(key, price);
    if (slash > 0 && !bareFromQualified) continue;
    const model = slash > 0 ? key.slice(slash + 1) : key;
    if (!bare.has(model)) bare.set(model, price);
  }
  return { exact, bare };
}

const BUILTIN_INDEX = buildIndex(Object.entries(builtin.models as Record<string, ModelPrice>), 'builtin', true);

export class PriceTable {
  private readonly overrides: Index;
  private readonly memo = new Map<string, PriceMatch | null>();

  /** `overrides`: ibex.yaml's `pricing:` section (keys `provider/model` or a bare model). */
  constructor(overrides: Readonly<Record<string, PriceOverride>> = {}) {
    this.overrides = buildIndex(Object.entries(overrides), 'override', false);
  }

  /**
   * The price of `model` as served by `provider` (either may be null). `model` may itself carry a
   * provider prefix (`openai/gpt-4o-mini`, as a caller may name it). Null when nothing matches.
   */
  lookup(provider: string | null, model: string | null): PriceMatch | null {
    if (!model) return null;
    const memoKey = `${provider ?? ''}\u0000${model}`;
    const known = this.memo.get(memoKey);
    if (known !== undefined) return known;
    const found = this.find(provider, model);
    // Bounded: model names come from callers, and a flood of made-up ones must not grow memory.
    if (this.memo.size > 10_000) this.memo.clear();
    this.memo.set(memoKey, found);
    return found;
  }

  private find(provider: string | null, model: string): PriceMatch | null {
    const candidates: [string | null, string][] = [];
    const slash = model.indexOf('/');
    if (provider) candidates.push([provider, model]);
    if (slash > 0) candidates.push([model.slice(0, slash), model.slice(slash + 1)]);
    else if (!provider) candidates.push([null, model]);
    for (const index of [this.overrides, BUILTIN_INDEX]) {
      for (const [p, m] of candidates) {
        for (const name of [m, m.replace(SNAPSHOT_SUFFIX, '')]) {
          const hit = (p !== null && index.exact.get(`${p}/${name}`)) || index.bare.get(name);
          if (hit) return hit;
        }
      }
    }
    return null;
  }
}
