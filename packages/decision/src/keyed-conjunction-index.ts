/**
 * The selective-key conjunction index: the index decide() uses by default, because it measured
 * faster than the conjunction algorithm on realistic targeting (bench/selection.ts prints both).
 *
 * Like Whang et al.'s index it works on DNF conjunctions and posting lists per (attribute, value),
 * but each conjunction is posted under ONE of its ∈ literals only: the most selective one, estimated
 * by how many conjunctions name its values (values that many line items target, such as country US
 * or the most popular keywords, are the ones most requests carry), weighted by an attribute prior
 * (a placement pin is rarer than a country, which is rarer than a device type). A query walks the
 * lists of the request's (attribute, value) pairs and verifies each conjunction found there against
 * the request's other values. The work is proportional to the conjunctions keyed on the request's
 * values, not to the length of every list the request touches: most line items are pinned to
 * inventory, so most are never looked at. Conjunctions without an ∈ literal (only NOTs) sit in an
 * "always" list verified on every query.
 *
 * Every (attribute, value) is interned to an integer at build time. A query marks the request's
 * value ids in a stamp array; verifying a literal is then a scan of its value ids in a flat
 * Int32Array (no strings, no Sets, no allocation).
 */
import { type RequestQuery, type TimeValues, timeValues } from './assignment.ts';
import type { Conjunction, Literal } from './dnf.ts';
import type { ServingPlacement } from './serving-snapshot.ts';
import type { ConjunctionIndex, IndexInput, RankedCursor } from './targeting-index.ts';
import type { Assignment } from './targeting-scan.ts';

/** Prior of how likely a request carries one given value of an attribute (lower is rarer). */
const SELECTIVITY: Readonly<Record<string, number>> = {
  placement: 0.0001,
  site: 0.0005,
  publisher: 0.005,
  segment: 0.01,
  keyword: 0.01,
  region: 0.05,
  category: 0.05,
  hour: 0.05,
  browser: 0.2,
  os: 0.2,
  weekday: 0.15,
  country: 0.2,
  device: 0.4,
  __fit: 0.5,
};
const KV_SELECTIVITY = 0.1;
/**
 * A stepped build yields after about this many inputs or entries (STEP_MASK + 1), or trivial loop turns
 * (STEP_MASK_FAST + 1): a millisecond or two of CPU per step at most.
 */
const STEP_MASK = 127;
const STEP_MASK_FAST = 16383;

function prior(attr: string): number {
  return SELECTIVITY[attr] ?? (attr.startsWith('kv:') ? KV_SELECTIVITY : 0.5);
}

/** Expected share of requests a literal lets through: a rare ∈ literal passes few, a ∉ one most. */
function literalCost(lit: Literal): number {
  const c = Math.min(1, prior(lit.attr) * lit.values.length);
  return lit.negated ? 1 - c : c;
}

interface Parts {
  readonly dict: Map<string, Map<string, number>>;
  readonly postStart: Int32Array;
  readonly entItem: Int32Array;
  readonly entLit: Int32Array;
  readonly litStart: Int32Array;
  readonly litVals: Int32Array;
  readonly litNeg: Uint8Array;
  readonly alwaysStart: number;
  readonly conjunctionCount: number;
  /** Rank bound of each entry's item (entries sorted by it within a posting list); undefined: unranked. */
  readonly entBound: Float64Array | undefined;
}

/**
 * Layout: an ENTRY is a conjunction posted under one value of its key literal (a key literal with
 * three values gives three entries, each with its own copy of the remaining literals). Entries are
 * stored sorted by key value, so a posting list is a range [postStart[v], postStart[v + 1]) and
 * verifying it walks the literal arrays sequentially: at 100k line items, memory latency, not
 * arithmetic, is the cost of a verification.
 */
export class KeyedConjunctionIndex implements ConjunctionIndex, RankedCursor {
  /** Below this many entries in a request's lists, a ranked query verifies them all at once (see begin); tests vary it. */
  static eagerEntries = 64;
  private readonly dict: Map<string, Map<string, number>>;
  private readonly postStart: Int32Array;
  private readonly entItem: Int32Array;
  /** Literals of entry e: entLit[e] .. entLit[e + 1]. */
  private readonly entLit: Int32Array;
  /** Value ids of literal l: litVals[litStart[l] .. litStart[l + 1]]. */
  private readonly litStart: Int32Array;
  private readonly litVals: Int32Array;
  private readonly litNeg: Uint8Array;
  /** Entries without an ∈ literal, verified on every query: [alwaysStart, entry count). */
  private readonly alwaysStart: number;
  readonly conjunctionCount: number;
  readonly postingEntries: number;
  private readonly entBound: Float64Array | undefined;
  readonly ranked: RankedCursor | undefined;

  // Ranked query state: one cursor per request list (position, end), in a heap by the bound at the position.
  private lPos: Int32Array = new Int32Array(64);
  private lEnd: Int32Array = new Int32Array(64);
  private lHeap: Int32Array = new Int32Array(64);
  /** The bound at each cursor's position (the heap compares these, not entBound[lPos[..]]). */
  private lKey: Float64Array = new Float64Array(64);
  private lSize = 0;

  private readonly reqStamp: Uint32Array;
  private reqIds: Int32Array = new Int32Array(64);
  private readonly stamp: Uint32Array;
  private gen = 0;
  readonly out: Int32Array;

  // Query path (beginQuery): the dictionaries of the request's attributes, and interned ids of the
  // values that many requests share (a placement's own, the current time slot's).
  private readonly dCountry: Map<string, number> | undefined;
  private readonly dRegion: Map<string, number> | undefined;
  private readonly dDevice: Map<string, number> | undefined;
  private readonly dOs: Map<string, number> | undefined;
  private readonly dBrowser: Map<string, number> | undefined;
  private readonly dKeyword: Map<string, number> | undefined;
  private readonly dSegment: Map<string, number> | undefined;
  private readonly dCategory: Map<string, number> | undefined;
  private readonly kvDicts = new Map<string, Map<string, number> | undefined>();
  private readonly placementIds = new WeakMap<ServingPlacement, Int32Array>();
  private timeOf: TimeValues | undefined;
  private timeIds: Int32Array = new Int32Array(0);

  private constructor(parts: Parts, itemCount: number) {
    this.dict = parts.dict;
    this.postStart = parts.postStart;
    this.entItem = parts.entItem;
    this.entLit = parts.entLit;
    this.litStart = parts.litStart;
    this.litVals = parts.litVals;
    this.litNeg = parts.litNeg;
    this.alwaysStart = parts.alwaysStart;
    this.conjunctionCount = parts.conjunctionCount;
    this.postingEntries = parts.entItem.length;
    this.entBound = parts.entBound;
    this.ranked = parts.entBound ? this : undefined;
    this.reqStamp = new Uint32Array(parts.postStart.length);
    this.stamp = new Uint32Array(itemCount);
    this.out = new Int32Array(itemCount);
    const d = parts.dict;
    this.dCountry = d.get('country');
    this.dRegion = d.get('region');
    this.dDevice = d.get('device');
    this.dOs = d.get('os');
    this.dBrowser = d.get('browser');
    this.dKeyword = d.get('keyword');
    this.dSegment = d.get('segment');
    this.dCategory = d.get('category');
  }

  /**
   * `bounds` (by item): a rank key no greater than the item's real one. Given, each posting list is
   * sorted by it and the index answers ranked queries (begin / peekBound / advance).
   */
  static build(inputs: readonly IndexInput[], itemCount: number, bounds?: Float64Array): KeyedConjunctionIndex {
    const steps = KeyedConjunctionIndex.buildSteps(inputs, itemCount, bounds);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /** build() as steps of bounded work (a few thousand inputs or entries each), for a rebuild that yields to the event loop. */
  static *buildSteps(
    inputs: readonly IndexInput[],
    itemCount: number,
    bounds?: Float64Array,
  ): Generator<void, KeyedConjunctionIndex, void> {
    let work = 0;
    const dict = new Map<string, Map<string, number>>();
    let freq = new Int32Array(1024);
    let valueCount = 0;
    const idOf = (attr: string, v: string): number => {
      let m = dict.get(attr);
      if (!m) {
        m = new Map();
        dict.set(attr, m);
      }
      let id = m.get(v);
      if (id === undefined) {
        id = valueCount++;
        m.set(v, id);
        if (id === freq.length) {
          const grown = new Int32Array(freq.length * 2);
          grown.set(freq);
          freq = grown;
        }
      }
      return id;
    };
    // First pass: intern values (once per literal object: compiled literals are shared across
    // rebuilds and between line items); count how many ∈ literals name each value.
    const ids = new Map<Literal, Int32Array>();
    const idsOf = (lit: Literal): Int32Array => {
      let vs = ids.get(lit);
      if (!vs) {
        const seen = new Set<number>();
        for (const v of lit.values) seen.add(idOf(lit.attr, v));
        vs = Int32Array.from(seen);
        ids.set(lit, vs);
      }
      return vs;
    };
    let conjunctionCount = 0;
    const countIn = (lit: Literal) => {
      const vs = idsOf(lit);
      if (!lit.negated) for (let i = 0; i < vs.length; i++) freq[vs[i]!]!++;
    };
    for (const inp of inputs) {
      if ((++work & STEP_MASK) === 0) yield;
      for (const conj of inp.conjunctions) {
        conjunctionCount++;
        for (const lit of conj) countIn(lit);
        if (inp.fit) countIn(inp.fit);
      }
    }
    const keyCost = (lit: Literal) => {
      const vs = ids.get(lit)!;
      let n = 0;
      for (let i = 0; i < vs.length; i++) n += freq[vs[i]!]!;
      return n * prior(lit.attr);
    };

    // Second pass: choose each conjunction's key; one entry per key value.
    const entKey: number[] = [];
    const entItemU: number[] = [];
    const entConj: Conjunction[] = [];
    const entFit: (Literal | undefined)[] = [];
    const entKeyLit: (Literal | undefined)[] = [];
    let litTotal = 0;
    let valTotal = 0;
    for (const inp of inputs) {
      if ((++work & STEP_MASK) === 0) yield;
      for (const conj of inp.conjunctions) {
        let key: Literal | undefined;
        let best = Number.POSITIVE_INFINITY;
        let lits = 0;
        let vals = 0;
        const consider = (lit: Literal) => {
          lits++;
          vals += ids.get(lit)!.length;
          if (lit.negated) return;
          const cost = keyCost(lit);
          if (cost < best) {
            best = cost;
            key = lit;
          }
        };
        for (const lit of conj) consider(lit);
        if (inp.fit) consider(inp.fit);
        const keyIds = key ? ids.get(key)! : undefined;
        const restLits = key ? lits - 1 : lits;
        const restVals = key ? vals - keyIds!.length : vals;
        const n = keyIds ? keyIds.length : 1;
        for (let k = 0; k < n; k++) {
          entKey.push(keyIds ? keyIds[k]! : -1);
          entItemU.push(inp.item);
          entConj.push(conj);
          entFit.push(inp.fit);
          entKeyLit.push(key);
          litTotal += restLits;
          valTotal += restVals;
        }
      }
    }
    // Counting sort of entries by key value ("always" entries, key -1, go last).
    const postStart = new Int32Array(valueCount + 2);
    for (let e = 0; e < entKey.length; e++) {
      if ((e & STEP_MASK_FAST) === STEP_MASK_FAST) yield;
      const k = entKey[e]!;
      postStart[(k < 0 ? valueCount : k) + 1]!++;
    }
    for (let v = 1; v < postStart.length; v++) postStart[v]! += postStart[v - 1]!;
    const next = postStart.slice(0, valueCount + 1);
    const order = new Int32Array(entKey.length);
    for (let e = 0; e < entKey.length; e++) {
      if ((e & STEP_MASK_FAST) === STEP_MASK_FAST) yield;
      const k = entKey[e]!;
      order[next[k < 0 ? valueCount : k]!++] = e;
    }
    if (bounds) {
      // Best bound first within each posting list (ties by item, for a deterministic layout).
      const cmp = (x: number, y: number) =>
        bounds[entItemU[x]!]! - bounds[entItemU[y]!]! || entItemU[x]! - entItemU[y]!;
      let sorted = 0;
      for (let w = 0; w <= valueCount; w++) {
        const from = postStart[w]!;
        const to = postStart[w + 1]!;
        if (to - from > 1) order.subarray(from, to).sort(cmp);
        sorted += to - from + 1;
        if (sorted > STEP_MASK) {
          sorted = 0;
          yield;
        }
      }
    }
    const entItem = new Int32Array(entKey.length);
    const entLit = new Int32Array(entKey.length + 1);
    const litStart = new Int32Array(litTotal + 1);
    const litVals = new Int32Array(valTotal);
    const litNeg = new Uint8Array(litTotal);
    const rest: Literal[] = [];
    let l = 0;
    let v = 0;
    for (let pos = 0; pos < order.length; pos++) {
      if ((pos & STEP_MASK) === STEP_MASK) yield;
      const e = order[pos]!;
      entItem[pos] = entItemU[e]!;
      entLit[pos] = l;
      const keyLit = entKeyLit[e];
      rest.length = 0;
      for (const lit of entConj[e]!) if (lit !== keyLit) rest.push(lit);
      const fit = entFit[e];
      if (fit && fit !== keyLit) rest.push(fit);
      // Verify the likeliest-to-fail literals first (insertion sort: a handful of literals).
      for (let i = 1; i < rest.length; i++) {
        const x = rest[i]!;
        const cx = literalCost(x);
        let j = i - 1;
        while (j >= 0 && literalCost(rest[j]!) > cx) {
          rest[j + 1] = rest[j]!;
          j--;
        }
        rest[j + 1] = x;
      }
      for (const lit of rest) {
        const vs = ids.get(lit)!;
        litVals.set(vs, v);
        v += vs.length;
        litNeg[l] = lit.negated ? 1 : 0;
        litStart[++l] = v;
      }
    }
    entLit[order.length] = l;
    let entBound: Float64Array | undefined;
    if (bounds) {
      entBound = new Float64Array(entItem.length);
      for (let pos = 0; pos < entItem.length; pos++) {
        if ((pos & STEP_MASK_FAST) === STEP_MASK_FAST) yield;
        entBound[pos] = bounds[entItem[pos]!]!;
      }
    }
    return new KeyedConjunctionIndex(
      {
        dict,
        postStart: postStart.subarray(0, valueCount + 1),
        entItem,
        entLit,
        litStart,
        litVals,
        litNeg,
        alwaysStart: postStart[valueCount]!,
        conjunctionCount,
        entBound,
      },
      itemCount,
    );
  }

  /** Finds the items with a matching conjunction; returns how many, written to `out`. */
  match(a: Assignment): number {
    return this.matchStamped(this.stampRequest(a));
  }

  /** match() for a request and placement given as a RequestQuery: the same values, without the Assignment Map. */
  matchQuery(q: RequestQuery): number {
    return this.matchStamped(this.stampQuery(q));
  }

  /** Verifies the lists of the n stamped request values and the "always" list. */
  private matchStamped(n: number): number {
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = this.reqIds[i]!;
      count = this.verifyRange(this.postStart[v]!, this.postStart[v + 1]!, count);
    }
    return this.verifyRange(this.alwaysStart, this.entItem.length, count);
  }

  /**
   * Ranked query: every list the request touches (and the "always" one) gets a cursor and nothing is
   * verified up front; except when the lists are short in total, where verifying them all at once
   * costs less than merging cursors (the matches are returned, unranked, for the caller to rank).
   */
  begin(a: Assignment): number {
    return this.startRanked(this.stampRequest(a));
  }

  /** begin() for a request and placement given as a RequestQuery: the same values, without the Assignment Map. */
  beginQuery(q: RequestQuery): number {
    return this.startRanked(this.stampQuery(q));
  }

  private startRanked(n: number): number {
    const eager = KeyedConjunctionIndex.eagerEntries;
    let total = this.entItem.length - this.alwaysStart;
    for (let i = 0; i < n && total <= eager; i++) {
      const v = this.reqIds[i]!;
      total += this.postStart[v + 1]! - this.postStart[v]!;
    }
    if (total <= eager) {
      this.lSize = 0;
      let count = 0;
      for (let i = 0; i < n; i++) {
        const v = this.reqIds[i]!;
        count = this.verifyRange(this.postStart[v]!, this.postStart[v + 1]!, count);
      }
      return this.verifyRange(this.alwaysStart, this.entItem.length, count);
    }
    if (this.lPos.length < n + 1) {
      this.lPos = new Int32Array(2 * n + 2);
      this.lEnd = new Int32Array(2 * n + 2);
      this.lHeap = new Int32Array(2 * n + 2);
      this.lKey = new Float64Array(2 * n + 2);
    }
    const { lPos, lEnd, lHeap, lKey } = this;
    const bound = this.entBound!;
    let size = 0;
    for (let i = 0; i <= n; i++) {
      const from = i < n ? this.postStart[this.reqIds[i]!]! : this.alwaysStart;
      const to = i < n ? this.postStart[this.reqIds[i]! + 1]! : this.entItem.length;
      if (from === to) continue;
      lPos[size] = from;
      lEnd[size] = to;
      lKey[size] = bound[from]!;
      lHeap[size] = size;
      size++;
    }
    this.lSize = size;
    for (let i = (size >> 1) - 1; i >= 0; i--) this.siftList(i);
    return 0;
  }

  peekBound(): number {
    return this.lSize === 0 ? Number.POSITIVE_INFINITY : this.lKey[this.lHeap[0]!]!;
  }

  advance(): number {
    const top = this.lHeap[0]!;
    const e = this.lPos[top]!++;
    if (e + 1 === this.lEnd[top]) this.lHeap[0] = this.lHeap[--this.lSize]!;
    else this.lKey[top] = this.entBound![e + 1]!;
    this.siftList(0);
    const item = this.entItem[e]!;
    if (this.stamp[item] === this.gen || !this.verifyEntry(e)) return -1;
    this.stamp[item] = this.gen;
    return item;
  }

  private siftList(at: number): void {
    const { lHeap, lKey, lSize } = this;
    let i = at;
    if (i >= lSize) return;
    const v = lHeap[i]!;
    const key = lKey[v]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= lSize) break;
      if (c + 1 < lSize && lKey[lHeap[c + 1]!]! < lKey[lHeap[c]!]!) c++;
      if (!(lKey[lHeap[c]!]! < key)) break;
      lHeap[i] = lHeap[c]!;
      i = c;
    }
    lHeap[i] = v;
  }

  /** Whether entry e's literals (all but its key) hold for the stamped request. */
  private verifyEntry(e: number): boolean {
    const gen = this.gen;
    const { entLit, litStart, litVals, litNeg, reqStamp } = this;
    const le = entLit[e + 1]!;
    for (let l = entLit[e]!; l < le; l++) {
      let hit = false;
      const ve = litStart[l + 1]!;
      for (let j = litStart[l]!; j < ve; j++) {
        if (reqStamp[litVals[j]!] === gen) {
          hit = true;
          break;
        }
      }
      if (hit === (litNeg[l] === 1)) return false;
    }
    return true;
  }

  private nextGen(): void {
    if (++this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.reqStamp.fill(0);
      this.gen = 1;
    }
  }

  /** Marks value id `id` as the request's (once) and lists it in reqIds at n; returns the new count. */
  private mark(id: number, n: number): number {
    if (this.reqStamp[id] === this.gen) return n;
    this.reqStamp[id] = this.gen;
    if (n === this.reqIds.length) {
      const grown = new Int32Array(n * 2);
      grown.set(this.reqIds);
      this.reqIds = grown;
    }
    this.reqIds[n] = id;
    return n + 1;
  }

  private markAll(d: Map<string, number> | undefined, vals: readonly string[] | undefined, n: number): number {
    if (d === undefined || vals === undefined) return n;
    for (let i = 0; i < vals.length; i++) {
      const id = d.get(vals[i]!);
      if (id !== undefined) n = this.mark(id, n);
    }
    return n;
  }

  private markOne(d: Map<string, number> | undefined, v: string | undefined, n: number): number {
    if (d === undefined || !v) return n;
    const id = d.get(v);
    return id === undefined ? n : this.mark(id, n);
  }

  /** Marks the request's value ids (reqStamp) and lists them in reqIds; returns how many. */
  private stampRequest(a: Assignment): number {
    this.nextGen();
    let n = 0;
    for (const [attr, vals] of a) n = this.markAll(this.dict.get(attr), vals, n);
    return n;
  }

  /** stampRequest for the values placeAssignment(requestAssignment(...)) would hold (assignment.ts). */
  private stampQuery(q: RequestQuery): number {
    this.nextGen();
    let n = 0;
    let ids = this.placementIds.get(q.placement);
    if (ids === undefined) {
      ids = this.internPlacement(q.placement);
      this.placementIds.set(q.placement, ids);
    }
    for (let i = 0; i < ids.length; i++) n = this.mark(ids[i]!, n);
    const time = q.time ?? timeValues(q.snapshot, q.nowMs);
    if (time !== this.timeOf) {
      this.timeOf = time;
      this.timeIds = this.intern([
        ['hour', time.hours],
        ['weekday', time.weekdays],
      ]);
    }
    for (let i = 0; i < this.timeIds.length; i++) n = this.mark(this.timeIds[i]!, n);
    const r = q.request;
    n = this.markOne(this.dCountry, r.country, n);
    n = this.markOne(this.dRegion, r.region, n);
    n = this.markOne(this.dDevice, r.device, n);
    n = this.markOne(this.dOs, r.os, n);
    n = this.markOne(this.dBrowser, r.browser, n);
    n = this.markAll(this.dKeyword, r.keywords, n);
    n = this.markAll(this.dSegment, r.segments, n);
    n = this.markAll(this.dCategory, r.categories, n);
    if (r.kv) {
      for (const key in r.kv) {
        let d = this.kvDicts.get(key);
        if (d === undefined && !this.kvDicts.has(key)) {
          d = this.dict.get(`kv:${key}`);
          this.kvDicts.set(key, d);
        }
        const v = r.kv[key]!;
        if (typeof v !== 'string') n = this.markAll(d, v, n);
        else if (d !== undefined) {
          const id = d.get(v);
          if (id !== undefined) n = this.mark(id, n);
        }
      }
    }
    return n;
  }

  /** The placement's own values: placement, site, publisher, fit keys and site categories. */
  private internPlacement(sp: ServingPlacement): Int32Array {
    return this.intern([
      ['placement', [sp.id]],
      ['site', [sp.placement.siteId]],
      ['publisher', [sp.placement.publisherId]],
      ['__fit', sp.fitKeys],
      ['category', sp.siteCategories],
    ]);
  }

  private intern(pairs: readonly (readonly [string, readonly string[]])[]): Int32Array {
    const out: number[] = [];
    for (const [attr, vals] of pairs) {
      const d = this.dict.get(attr);
      if (d === undefined) continue;
      for (const v of vals) {
        const id = d.get(v);
        if (id !== undefined && !out.includes(id)) out.push(id);
      }
    }
    return Int32Array.from(out);
  }

  private verifyRange(from: number, to: number, count: number): number {
    const gen = this.gen;
    const { entItem, entLit, litStart, litVals, litNeg, reqStamp, stamp } = this;
    for (let e = from; e < to; e++) {
      const item = entItem[e]!;
      if (stamp[item] === gen) continue;
      let ok = true;
      const le = entLit[e + 1]!;
      for (let l = entLit[e]!; l < le; l++) {
        let hit = false;
        const ve = litStart[l + 1]!;
        for (let j = litStart[l]!; j < ve; j++) {
          if (reqStamp[litVals[j]!] === gen) {
            hit = true;
            break;
          }
        }
        if (hit === (litNeg[l] === 1)) {
          ok = false;
          break;
        }
      }
      if (ok) {
        stamp[item] = gen;
        this.out[count++] = item;
      }
    }
    return count;
  }
}
