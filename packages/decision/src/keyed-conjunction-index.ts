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
import type { Conjunction } from './dnf.ts';
import type { ConjunctionIndex, IndexInput } from './targeting-index.ts';
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

function prior(attr: string): number {
  return SELECTIVITY[attr] ?? (attr.startsWith('kv:') ? KV_SELECTIVITY : 0.5);
}

interface Parts {
  readonly dict: Map<string, Map<string, number>>;
  readonly postings: (Int32Array | undefined)[];
  readonly always: Int32Array;
  readonly conjItem: Int32Array;
  readonly conjLit: Int32Array;
  readonly litStart: Int32Array;
  readonly litVals: Int32Array;
  readonly litNeg: Uint8Array;
  readonly postingEntries: number;
}

export class KeyedConjunctionIndex implements ConjunctionIndex {
  /** attribute -> value -> value id. */
  private readonly dict: Map<string, Map<string, number>>;
  /** value id -> the conjunctions keyed on it. */
  private readonly postings: (Int32Array | undefined)[];
  private readonly always: Int32Array;
  private readonly conjItem: Int32Array;
  /** Literals of conjunction c, its key literal left out: conjLit[c] .. conjLit[c + 1]. */
  private readonly conjLit: Int32Array;
  /** Value ids of literal l: litVals[litStart[l] .. litStart[l + 1]]. */
  private readonly litStart: Int32Array;
  private readonly litVals: Int32Array;
  private readonly litNeg: Uint8Array;
  readonly conjunctionCount: number;
  readonly postingEntries: number;

  private readonly reqStamp: Uint32Array;
  private reqIds: Int32Array = new Int32Array(64);
  private readonly stamp: Uint32Array;
  private readonly conjStamp: Uint32Array;
  private gen = 0;
  readonly out: Int32Array;

  private constructor(parts: Parts, valueCount: number, itemCount: number) {
    this.dict = parts.dict;
    this.postings = parts.postings;
    this.always = parts.always;
    this.conjItem = parts.conjItem;
    this.conjLit = parts.conjLit;
    this.litStart = parts.litStart;
    this.litVals = parts.litVals;
    this.litNeg = parts.litNeg;
    this.postingEntries = parts.postingEntries;
    this.conjunctionCount = parts.conjItem.length;
    this.reqStamp = new Uint32Array(valueCount);
    this.stamp = new Uint32Array(itemCount);
    this.conjStamp = new Uint32Array(parts.conjItem.length);
    this.out = new Int32Array(itemCount);
  }

  static build(inputs: readonly IndexInput[], itemCount: number): KeyedConjunctionIndex {
    const dict = new Map<string, Map<string, number>>();
    const freq: number[] = [];
    const idOf = (attr: string, v: string): number => {
      let m = dict.get(attr);
      if (!m) {
        m = new Map();
        dict.set(attr, m);
      }
      let id = m.get(v);
      if (id === undefined) {
        id = freq.length;
        m.set(v, id);
        freq.push(0);
      }
      return id;
    };
    // First pass: intern values; count how many ∈ literals name each value.
    const ids = new Map<Conjunction[number], number[]>();
    for (const inp of inputs) {
      for (const conj of inp.conjunctions) {
        for (const lit of conj) {
          if (ids.has(lit)) {
            if (!lit.negated) for (const id of ids.get(lit)!) freq[id]!++;
            continue;
          }
          const vs = [...new Set(lit.values.map((v) => idOf(lit.attr, v)))];
          ids.set(lit, vs);
          if (!lit.negated) for (const id of vs) freq[id]!++;
        }
      }
    }
    const keyCost = (lit: Conjunction[number]) => {
      let n = 0;
      for (const id of ids.get(lit)!) n += freq[id]!;
      return n * prior(lit.attr);
    };
    const litCost = (lit: Conjunction[number]) => {
      const c = Math.min(1, prior(lit.attr) * lit.values.length);
      return lit.negated ? 1 - c : c;
    };

    const postings: number[][] = [];
    const always: number[] = [];
    const conjItem: number[] = [];
    const conjLit: number[] = [0];
    const litStart: number[] = [0];
    const litVals: number[] = [];
    const litNeg: number[] = [];
    let entries = 0;
    for (const inp of inputs) {
      for (const conj of inp.conjunctions) {
        const c = conjItem.length;
        conjItem.push(inp.item);
        let key = -1;
        let best = Number.POSITIVE_INFINITY;
        conj.forEach((lit, i) => {
          if (lit.negated) return;
          const cost = keyCost(lit);
          if (cost < best) {
            best = cost;
            key = i;
          }
        });
        // Verify the likeliest-to-fail literals first.
        const rest = conj.filter((_, i) => i !== key).sort((x, y) => litCost(x) - litCost(y));
        for (const lit of rest) {
          for (const id of ids.get(lit)!) litVals.push(id);
          litStart.push(litVals.length);
          litNeg.push(lit.negated ? 1 : 0);
        }
        conjLit.push(litNeg.length);
        if (key < 0) {
          always.push(c);
          continue;
        }
        for (const id of ids.get(conj[key]!)!) {
          const list = postings[id];
          if (list) list.push(c);
          else postings[id] = [c];
          entries++;
        }
      }
    }
    const lists: (Int32Array | undefined)[] = new Array(freq.length);
    for (let i = 0; i < freq.length; i++) lists[i] = postings[i] ? Int32Array.from(postings[i]!) : undefined;
    return new KeyedConjunctionIndex(
      {
        dict,
        postings: lists,
        always: Int32Array.from(always),
        conjItem: Int32Array.from(conjItem),
        conjLit: Int32Array.from(conjLit),
        litStart: Int32Array.from(litStart),
        litVals: Int32Array.from(litVals),
        litNeg: Uint8Array.from(litNeg),
        postingEntries: entries,
      },
      freq.length,
      itemCount,
    );
  }

  /** Finds the items with a matching conjunction; returns how many, written to `out`. */
  match(a: Assignment): number {
    if (++this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.conjStamp.fill(0);
      this.reqStamp.fill(0);
      this.gen = 1;
    }
    const gen = this.gen;
    let n = 0;
    for (const [attr, vals] of a) {
      const d = this.dict.get(attr);
      if (d === undefined) continue;
      for (let i = 0; i < vals.length; i++) {
        const id = d.get(vals[i]!);
        if (id === undefined) continue;
        this.reqStamp[id] = gen;
        if (n === this.reqIds.length) {
          const grown = new Int32Array(n * 2);
          grown.set(this.reqIds);
          this.reqIds = grown;
        }
        this.reqIds[n++] = id;
      }
    }
    let count = 0;
    for (let i = 0; i < n; i++) {
      const l = this.postings[this.reqIds[i]!];
      if (l !== undefined) count = this.verifyAll(l, count);
    }
    return this.verifyAll(this.always, count);
  }

  private verifyAll(ids: Int32Array, count: number): number {
    const gen = this.gen;
    for (let i = 0; i < ids.length; i++) {
      const c = ids[i]!;
      const item = this.conjItem[c]!;
      if (this.stamp[item] === gen || this.conjStamp[c] === gen) continue;
      this.conjStamp[c] = gen;
      if (this.verify(c)) {
        this.stamp[item] = gen;
        this.out[count++] = item;
      }
    }
    return count;
  }

  private verify(c: number): boolean {
    const gen = this.gen;
    const { litStart, litVals, reqStamp } = this;
    const end = this.conjLit[c + 1]!;
    for (let l = this.conjLit[c]!; l < end; l++) {
      let hit = false;
      const ve = litStart[l + 1]!;
      for (let j = litStart[l]!; j < ve; j++) {
        if (reqStamp[litVals[j]!] === gen) {
          hit = true;
          break;
        }
      }
      if (hit === (this.litNeg[l] === 1)) return false;
    }
    return true;
  }
}
