/**
 * An incremental snapshot's index: the base index (shared with the snapshot of the last full build)
 * minus its dead items, plus the small delta index of the items added since, numbered after the base.
 */
import type { RequestQuery } from './assignment.ts';
import type { DeadMarks } from './dead-marks.ts';
import type { ConjunctionIndex, RankedCursor } from './targeting-index.ts';
import type { Assignment } from './targeting-scan.ts';

/**
 * The base index minus its dead items, plus the delta index (item numbers offset by the base size).
 * Ranked queries merge the two walks by bound (the delta can hold up to MAX_DELTA_ITEMS line items:
 * a server that took its line items through the API serves from it until the next full build). The
 * delta may itself be a LayeredIndex (the delta index's two levels, layers.older in serving-snapshot.ts).
 */
export class LayeredIndex implements ConjunctionIndex, RankedCursor {
  readonly out: Int32Array;
  readonly ranked: RankedCursor | undefined;
  readonly conjunctionCount: number;
  readonly postingEntries: number;
  /**
   * `out`: at least as long as the item count; shared by the layered indexes of successive updates
   * over one base (like the base index's own `out`, it is scratch each match overwrites and its
   * caller reads at once: decide is synchronous), so that an update allocates nothing of the network's size.
   */
  constructor(
    private readonly base: ConjunctionIndex,
    private readonly dead: DeadMarks,
    /** A base item `i` is dead when dead.has(i + deadOffset) (0 for the snapshot's base; nested: see serving-snapshot.ts). */
    private readonly deadOffset: number,
    private readonly delta: ConjunctionIndex,
    private readonly offset: number,
    out: Int32Array,
  ) {
    this.out = out;
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
    return item >= 0 && this.dead.has(item + this.deadOffset) ? -1 : item;
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
      if (!this.dead.has(item + this.deadOffset)) this.out[n++] = item;
    }
    const dout = this.delta.out;
    for (let i = 0; i < dn; i++) this.out[n++] = dout[i]! + this.offset;
    return n;
  }
}
