/**
 * Which line item positions of a snapshot are dead (superseded by a later version, or no longer
 * servable), kept per snapshot without a copy proportional to the network: the base positions (those
 * of the last full build, shared by every snapshot since) as a small set behind a fixed-size bit
 * filter, the delta positions as flags of their own. `with()` returns new marks and never touches
 * these: an older snapshot keeps seeing exactly its own.
 */

/** Filter size in 32-bit words (32,768 bits, 4 KB): constant, whatever the network's size. */
const FILTER_WORDS = 1024;
const EMPTY_FILTER = new Uint32Array(FILTER_WORDS);
const EMPTY_SET: ReadonlySet<number> = new Set();
const NO_FLAGS = new Uint8Array(0);

export class DeadMarks {
  private constructor(
    /** Positions below this are base positions. */
    readonly baseItems: number,
    /** Bit (item mod 32,768) set for every dead base item: most live items are answered by one load. */
    private readonly filter: Uint32Array,
    private readonly base: ReadonlySet<number>,
    /** By delta position (item - baseItems). */
    private readonly delta: Uint8Array,
  ) {}

  /** No dead item over `baseItems` base positions (a full build). */
  static none(baseItems: number): DeadMarks {
    return new DeadMarks(baseItems, EMPTY_FILTER, EMPTY_SET, NO_FLAGS);
  }

  /** Whether base position `item` (< baseItems) is dead. */
  hasBase(item: number): boolean {
    return (this.filter[(item >>> 5) & (FILTER_WORDS - 1)]! & (1 << (item & 31))) !== 0 && this.base.has(item);
  }

  has(item: number): boolean {
    return item < this.baseItems ? this.hasBase(item) : this.delta[item - this.baseItems] === 1;
  }

  /** Dead base positions. */
  get baseDead(): number {
    return this.base.size;
  }

  /**
   * These marks plus `items`, over `deltaCount` delta positions. Costs the delta flags, and when a
   * base item dies the filter (4 KB) and the set of dead base items: O(delta), never O(network).
   */
  with(items: readonly number[], deltaCount: number): DeadMarks {
    const delta = new Uint8Array(deltaCount);
    delta.set(this.delta.subarray(0, Math.min(this.delta.length, deltaCount)));
    let filter = this.filter;
    let base = this.base;
    for (const item of items) {
      if (item >= this.baseItems) {
        delta[item - this.baseItems] = 1;
        continue;
      }
      if (base === this.base) {
        base = new Set(this.base);
        filter = this.filter.slice();
      }
      (base as Set<number>).add(item);
      filter[(item >>> 5) & (FILTER_WORDS - 1)]! |= 1 << (item & 31);
    }
    return new DeadMarks(this.baseItems, filter, base, delta);
  }
}
