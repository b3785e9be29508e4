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
    return this.merge(bn, delta ? delta.begin(a) : this.delta.match(a));
  }
  beginQuery(q: RequestQuery): number {
    const bn = this.base.ranked!.beginQuery(q);
    const delta = this.delta.ranked;
    return this.merge(bn, delta ? delta.beginQuery(q) : this.delta.match(q.assignment()));
  }
  /** The eager matches of both layers (base minus dead, delta offset) in out. */
  private merge(bn: number, dn: number): number {
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
    let n = 0;
    const bn = this.base.match(a);
    const bout = this.base.out;
    for (let i = 0; i < bn; i++) {
      const item = bout[i]!;
      if (this.dead[item] !== 1) this.out[n++] = item;
    }
    const dn = this.delta.match(a);
    const dout = this.delta.out;
    for (let i = 0; i < dn; i++) this.out[n++] = dout[i]! + this.offset;
    return n;
  }
}
