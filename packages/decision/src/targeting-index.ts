/**
 * A boolean-expression inverted index after Whang et al., "Indexing Boolean Expressions" (VLDB 2009),
 * the conjunction algorithm:
 *
 * - Every line item's targeting is in DNF (dnf.ts); each conjunction gets an id. Its size K is its
 *   number of ∈ literals. Ids are assigned in order of K, so partition K is a contiguous id range.
 * - Posting lists per (attribute slot, value) hold entries id*2+1 for ∈ and id*2 for ∉, sorted; so a
 *   ∉ entry sorts before the ∈ entries of the same conjunction, as the paper requires.
 * - K=0 conjunctions (only ∉ literals, or none) carry an ∈ entry in the Z list, added to every query.
 * - A query gathers the lists of the request's (attribute, value) pairs; per partition K it walks
 *   them in lock step: a conjunction matches when K lists agree on its id and none says ∉. Lists
 *   are advanced with galloping skips, so a rare value (a site pin) drives the walk over a common
 *   one (country = US) without reading all of it.
 *
 * One departure, for multi-valued attributes (keywords, categories, segments, key-values): the paper
 * counts lists, which double-counts a literal `keyword ∈ {a, b}` when the page has both a and b. Here
 * each ∈ literal of a conjunction gets its own slot (attribute + occurrence number: the second
 * keyword literal of a conjunction is "keyword#1"), each list knows its slot, and a match needs K
 * DISTINCT slots. Two literals on one attribute (keyword ∈ {a} AND keyword ∈ {b}) then also work.
 */
import type { RequestQuery } from './assignment.ts';
import type { Conjunction, Literal } from './dnf.ts';
import type { Assignment } from './targeting-scan.ts';

export interface IndexInput {
  /** The caller's number for the thing the conjunctions belong to (a line item's position). */
  readonly item: number;
  /** Its targeting in DNF; [] never matches, [[]] always does. */
  readonly conjunctions: readonly Conjunction[];
  /** A literal ANDed into every conjunction (creative fit), kept apart to spare a copy of each. */
  readonly fit?: Literal;
}

/** What decide() needs of an index; two implementations, chosen per snapshot (IndexKind). */
/**
 * Matching in rank order, for early termination: entries are visited best bound first, so the caller
 * stops as soon as its winners (and runner-up) are known instead of verifying every candidate. An
 * entry's bound is a rank key (lower ranks first) no greater than its item's real key.
 */
export interface RankedCursor {
  /** Starts a query; items matched eagerly (outside the ranked lists) go to out[0..return value). */
  begin(a: Assignment): number;
  /** begin() for a request and placement, without building the Assignment (decide's hot path). */
  beginQuery(q: RequestQuery): number;
  /** The best bound among the entries not yet visited; +Infinity when all are. */
  peekBound(): number;
  /** Visits the entry with the best bound: its item when it matches for the first time, else -1. */
  advance(): number;
}

export interface ConjunctionIndex {
  /** Finds the items with a matching conjunction; returns how many, written to out[0..count). */
  match(a: Assignment): number;
  /** match() for a request and placement given as a RequestQuery (the keyed index: without building the Assignment Map). */
  matchQuery(q: RequestQuery): number;
  /** Present when the index was built with rank bounds. */
  readonly ranked?: RankedCursor | undefined;
  readonly out: Int32Array;
  readonly conjunctionCount: number;
  readonly postingEntries: number;
}

const END = 0x7fffffff;

export class TargetingIndex implements ConjunctionIndex {
  /** attribute -> the slot ids of its occurrences. */
  private readonly attrSlots: Map<string, number[]>;
  /** per slot: value -> sorted posting list. */
  private readonly lists: Map<string, Int32Array>[];
  private readonly zList: Int32Array;
  /** kStart[K] is the first conjunction id of size K; kStart[maxK + 1] is the count. */
  private readonly kStart: Int32Array;
  private readonly conjItem: Int32Array;
  readonly conjunctionCount: number;
  readonly postingEntries: number;

  // Scratch reused across queries: match() is synchronous, so one set per index suffices.
  private readonly stamp: Uint32Array;
  private gen = 0;
  private readonly slotSeen: Uint32Array;
  private slotGen = 0;
  private readonly zSlot: number;
  private gl: Int32Array[] = [];
  private gs: number[] = [];
  private gp: number[] = [];
  private cl: Int32Array[] = [];
  private cs: number[] = [];
  private cp: number[] = [];
  private ce: number[] = [];
  private cv: number[] = [];
  private ord: number[] = [];
  /** The items matched by the last query, in out[0..count). */
  readonly out: Int32Array;

  private constructor(
    attrSlots: Map<string, number[]>,
    lists: Map<string, Int32Array>[],
    zList: Int32Array,
    kStart: Int32Array,
    conjItem: Int32Array,
    itemCount: number,
    postingEntries: number,
  ) {
    this.attrSlots = attrSlots;
    this.lists = lists;
    this.zList = zList;
    this.kStart = kStart;
    this.conjItem = conjItem;
    this.conjunctionCount = conjItem.length;
    this.postingEntries = postingEntries;
    this.stamp = new Uint32Array(itemCount);
    this.out = new Int32Array(itemCount);
    this.zSlot = lists.length;
    this.slotSeen = new Uint32Array(lists.length + 1);
  }

  static build(withFit: readonly IndexInput[], itemCount: number): TargetingIndex {
    const inputs = withFit.map((inp) =>
      inp.fit ? { item: inp.item, conjunctions: inp.conjunctions.map((c) => [...c, inp.fit!]) } : inp,
    );
    // Counting sort of conjunctions by K, so each partition is one id range.
    let maxK = 0;
    let total = 0;
    for (const inp of inputs) {
      for (const c of inp.conjunctions) {
        maxK = Math.max(maxK, sizeOf(c));
        total++;
      }
    }
    const kStart = new Int32Array(maxK + 2);
    for (const inp of inputs) for (const c of inp.conjunctions) kStart[sizeOf(c) + 1]!++;
    for (let k = 1; k < kStart.length; k++) kStart[k]! += kStart[k - 1]!;
    const next = kStart.slice(0, maxK + 1);
    const ordered: (Conjunction | undefined)[] = new Array(total);
    const conjItem = new Int32Array(total);
    for (const inp of inputs) {
      for (const c of inp.conjunctions) {
        const id = next[sizeOf(c)]!++;
        ordered[id] = c;
        conjItem[id] = inp.item;
      }
    }

    const attrSlots = new Map<string, number[]>();
    const builders: Map<string, number[]>[] = [];
    const slotOf = (attr: string, occ: number): number => {
      let slots = attrSlots.get(attr);
      if (!slots) {
        slots = [];
        attrSlots.set(attr, slots);
      }
      while (slots.length <= occ) {
        slots.push(builders.length);
        builders.push(new Map());
      }
      return slots[occ]!;
    };
    const z: number[] = [];
    const occ = new Map<string, number>();
    let entries = 0;
    const push = (slot: number, value: string, entry: number) => {
      const b = builders[slot]!;
      let arr = b.get(value);
      if (!arr) {
        arr = [];
        b.set(value, arr);
      }
      // Ids arrive in increasing order, ∉ before ∈ within a conjunction: the lists come out sorted.
      if (arr[arr.length - 1] !== entry) {
        arr.push(entry);
        entries++;
      }
    };
    for (let id = 0; id < total; id++) {
      const c = ordered[id]!;
      for (const lit of c) {
        if (lit.negated) for (const v of lit.values) push(slotOf(lit.attr, 0), v, id * 2);
      }
      occ.clear();
      for (const lit of c) {
        if (lit.negated) continue;
        const o = occ.get(lit.attr) ?? 0;
        occ.set(lit.attr, o + 1);
        const slot = slotOf(lit.attr, o);
        for (const v of lit.values) push(slot, v, id * 2 + 1);
      }
      if (sizeOf(c) === 0) z.push(id * 2 + 1);
    }
    const lists = builders.map((b) => {
      const m = new Map<string, Int32Array>();
      for (const [v, arr] of b) m.set(v, Int32Array.from(arr));
      return m;
    });
    return new TargetingIndex(attrSlots, lists, Int32Array.from(z), kStart, conjItem, itemCount, entries);
  }

  matchQuery(q: RequestQuery): number {
    return this.match(q.assignment());
  }

  /** Finds the items with a matching conjunction; returns how many, written to `out`. */
  match(a: Assignment): number {
    if (++this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.gen = 1;
    }
    const gl = this.gl;
    const gs = this.gs;
    const gp = this.gp;
    let n = 0;
    for (const [attr, vals] of a) {
      const slots = this.attrSlots.get(attr);
      if (slots === undefined) continue;
      for (let si = 0; si < slots.length; si++) {
        const s = slots[si]!;
        const m = this.lists[s]!;
        for (let vi = 0; vi < vals.length; vi++) {
          const l = m.get(vals[vi]!);
          if (l !== undefined) {
            gl[n] = l;
            gs[n] = s;
            gp[n] = 0;
            n++;
          }
        }
      }
    }
    let count = 0;
    const kStart = this.kStart;
    const maxK = kStart.length - 2;
    for (let K = 0; K <= maxK; K++) {
      const lo = kStart[K]! * 2;
      const hi = kStart[K + 1]! * 2;
      if (lo === hi) continue;
      let active = 0;
      for (let i = 0; i < n; i++) {
        const l = gl[i]!;
        const pos = lowerBound(l, lo, gp[i]!, l.length);
        const end = lowerBound(l, hi, pos, l.length);
        gp[i] = end;
        if (pos < end) active = this.addCursor(active, l, gs[i]!, pos, end);
      }
      if (K === 0 && this.zList.length > 0) {
        const pos = lowerBound(this.zList, lo, 0, this.zList.length);
        const end = lowerBound(this.zList, hi, pos, this.zList.length);
        if (pos < end) active = this.addCursor(active, this.zList, this.zSlot, pos, end);
      }
      const kp = K === 0 ? 1 : K;
      if (active < kp) continue;
      count = this.walk(K, kp, active, count);
    }
    // Release references to the lists (they belong to this index anyway; keeps the arrays short-lived).
    gl.length = 0;
    this.cl.length = 0;
    return count;
  }

  private addCursor(i: number, l: Int32Array, slot: number, pos: number, end: number): number {
    this.cl[i] = l;
    this.cs[i] = slot;
    this.cp[i] = pos;
    this.ce[i] = end;
    this.cv[i] = l[pos]!;
    this.ord[i] = i;
    return i + 1;
  }

  /** The conjunction algorithm over one partition's cursors; appends matches to `out`. */
  private walk(K: number, kp: number, active: number, count: number): number {
    const { cv, ord, cs } = this;
    sortOrder(ord, cv, active);
    for (;;) {
      const eK = cv[ord[kp - 1]!]!;
      if (eK === END) break;
      const e0 = cv[ord[0]!]!;
      const id0 = e0 >>> 1;
      if (id0 === eK >>> 1) {
        if ((e0 & 1) === 1) {
          let ok = K === 0;
          if (!ok) {
            const g = ++this.slotGen;
            let distinct = 0;
            for (let j = 0; j < active; j++) {
              const c = ord[j]!;
              if (cv[c]! >>> 1 !== id0) break;
              const s = cs[c]!;
              if (this.slotSeen[s] !== g) {
                this.slotSeen[s] = g;
                distinct++;
              }
            }
            ok = distinct >= K;
          }
          if (ok) {
            const item = this.conjItem[id0]!;
            if (this.stamp[item] !== this.gen) {
              this.stamp[item] = this.gen;
              this.out[count++] = item;
            }
          }
        }
        // Accepted or rejected (∉), this id is done: move every list past it.
        const target = (id0 + 1) * 2;
        for (let j = 0; j < active; j++) {
          const c = ord[j]!;
          if (cv[c]! >>> 1 !== id0) break;
          this.advance(c, target);
        }
      } else {
        // Fewer than K lists hold id0: nothing before the K-th list's id can match.
        const target = (eK >>> 1) * 2;
        for (let j = 0; j < kp - 1; j++) this.advance(ord[j]!, target);
      }
      sortOrder(ord, cv, active);
    }
    return count;
  }

  /** Moves cursor c to its first entry >= target (galloping: most skips are short). */
  private advance(c: number, target: number): void {
    const l = this.cl[c]!;
    const end = this.ce[c]!;
    let pos = this.cp[c]!;
    if (pos < end && l[pos]! < target) {
      let step = 1;
      let lo = pos;
      while (lo + step < end && l[lo + step]! < target) {
        lo += step;
        step *= 2;
      }
      pos = lowerBound(l, target, lo + 1, Math.min(end, lo + step + 1));
    }
    this.cp[c] = pos;
    this.cv[c] = pos < end ? l[pos]! : END;
  }
}

function sizeOf(c: Conjunction): number {
  let k = 0;
  for (const lit of c) if (!lit.negated) k++;
  return k;
}

function lowerBound(a: Int32Array, target: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Insertion sort of cursor numbers by current entry: the order is nearly sorted between steps. */
function sortOrder(ord: number[], cv: number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const c = ord[i]!;
    const v = cv[c]!;
    let j = i - 1;
    while (j >= 0 && cv[ord[j]!]! > v) {
      ord[j + 1] = ord[j]!;
      j--;
    }
    ord[j + 1] = c;
  }
}
