// The set of every token hash ever issued, as a bloom filter: "definitely never issued" answers
// without any lookup, "maybe" sends the hash to the validator.
//
// Why a custom `serialize`: bloom-filters hashes each element with a pure-JS xxhash64 (~30 µs per
// `has` at 1e-4). Our elements are already uniformly random — hex SHA-256 digests — so the two base
// hashes of its double hashing can simply be read out of the digest (~1 µs). The library documents
// `serialize` as the override point. Anything that is not a hex digest falls back to xxhash.
import bloomFilters from 'bloom-filters';

const { BloomFilter, Hashing } = bloomFilters;
type Filter = InstanceType<typeof BloomFilter>;

/** 10 hex chars = 40 bits: `a + n·b + (n³−n)/6` stays far below 2^53, so index math is exact. */
const SLICE = 10;
const SLICES = Math.floor(64 / SLICE);
const HEX64 = /^[0-9a-f]{64}$/;

class DigestHashing extends Hashing {
  override serialize(element: string | ArrayBuffer | Buffer, seed?: number): number {
    if (typeof element === 'string' && element.length === 64 && HEX64.test(element)) {
      const slice = ((((seed ?? 0) % SLICES) + SLICES) % SLICES) * SLICE;
      return parseInt(element.slice(slice, slice + SLICE), 16);
    }
    return super.serialize(element, seed);
  }
}

export interface TokenIndexOptions {
  /** Target false-positive rate. Default 1e-4 (a flood of random tokens: 1 in 10,000 reaches a lookup). */
  errorRate?: number;
  /** Minimum capacity. Default 10,000. */
  minCapacity?: number;
}

/** A fixed-size bloom filter sized for twice the hashes it was built with; `full` says when to rebuild. */
export class TokenIndex {
  private filter: Filter;
  private count = 0;
  readonly capacity: number;

  constructor(hashes: Iterable<string>, knownCount: number, opts: TokenIndexOptions = {}) {
    this.capacity = Math.max(opts.minCapacity ?? 10_000, knownCount * 2);
    this.filter = BloomFilter.create(this.capacity, opts.errorRate ?? 1e-4);
    this.filter._hashing = new DigestHashing();
    for (const h of hashes) this.add(h);
  }

  add(hash: string): void {
    this.filter.add(hash);
    this.count++;
  }

  has(hash: string): boolean {
    return this.filter.has(hash);
  }

  get size(): number {
    return this.count;
  }

  /** Past capacity the false-positive rate climbs: time to rebuild from the source. */
  get full(): boolean {
    return this.count > this.capacity;
  }
}
