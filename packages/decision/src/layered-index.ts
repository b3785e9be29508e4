/**
 * An incremental snapshot's index: the base index (shared with the snapshot of the last full build)
 * minus its dead items, plus the small delta index of the items added since, numbered after the base.
 */
import type { RequestQuery } from './assignment.ts';
import type { ConjunctionIndex, RankedCursor } from './targeting-index.ts';
import type { Assignment } from './targeting-scan.ts';

/**
 * The base index minus its dead items, plus the delta index (item numbers offset by the base size).
 * Ranked queries merge the two walks by bound (the delta can hold up to MAX_DELTA_ITEMS line items:
 * a server that took its line items through the API serves from it until the next full build).
 */
export class LayeredIndex implements ConjunctionIndex, RankedCursor {
  readonly out: Int32Array;
  readonly ranked: RankedCursor | undefined;
  readonly conjunctionCount: number;
  readonly postingEntries: number;
  constructor(
    private readonly base: ConjunctionIndex,
    private readonly dead: Uint8Array,
    private readonly delta: ConjunctionIndex,
    private readonly offset: number,
    itemCount: number,
  ) {
    this.out = new Int32Array(itemCount);
    this.conjunctionCount = base.conjunctionCount + delta.conjunctionCount;
    this.postingEntries = base.postingEntries + delta.postingEntries;
    this.ranked = base.ranked ? this : undefined;
  }
  begin(a: Assignment): number {
    const bn = this.base.ranked!.begin(a);
    const delta = this.delta.ranked;
    return this.layered(bn, delta ? delta.begin(a) : this.delta.match(a));
  }
  beginQuery(q: RequestQuery): number {
    const bn = this.base.ranked!.beginQuery(q);
    const delta = this.delta.ranked;
    return this.layered(bn, delta ? delta.beginQuery(q) : this.delta.match(q.assignment()));
  }
  peekBound(): number {
    const b = this.base.ranked!.peekBound();
    const d = this.delta.ranked?.peekBound() ?? Number.POSITIVE_INFINITY;
    return Math.min(b, d);
  }
  advance(): number {
    const delta = this.delta.ranked;
    if (delta && delta.peekBound() < this.base.ranked!.peekBound()) {
      const item = delta.advance();
      return item >= 0 ? item + this.offset : -1;
    }
    const item = this.base.ranked!.advance();
    return item >= 0 && this.dead[item] === 1 ? -1 : item;
  }
  match(a: Assignment): number {
    return this.layered(this.base.match(a), this.delta.match(a));
  }
  matchQuery(q: RequestQuery): number {
    return this.layered(this.base.matchQuery(q), this.delta.matchQuery(q));
  }
  /** The base's matches minus the dead, then the delta's (offset), in out (also the eager matches of a ranked query). */
  private layered(bn: number, dn: number): number {
    let n = 0;
    const bout = this.base.out;
    for (let i = 0; i < bn; i++) {
      const item = bout[i]!;
      if (this.dead[item] !== 1) this.out[n++] = item;
    }
    const dout = this.delta.out;
    for (let i = 0; i < dn; i++) this.out[n++] = dout[i]! + this.offset;
    return n;
  }
}
