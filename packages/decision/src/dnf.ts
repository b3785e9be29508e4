/**
 * Targeting trees to disjunctive normal form: an OR of conjunctions, each an AND of literals
 * `attr ∈ values` or `attr ∉ values`. NOT is pushed down to the predicates (De Morgan), so a
 * negated predicate becomes a ∉ literal; AND distributes over OR.
 *
 * Distribution can explode (an AND of n two-way ORs has 2^n conjunctions), so it is bounded:
 * past `limit` conjunctions toDnf returns undefined and the caller takes the residual path
 * (index the line item as "always a candidate" and evaluate its tree per request).
 */
import { isAnd, isNot, isOr, type TargetingNode, type TargetingPredicate } from '@marquee/core';

export interface Literal {
  /** The attribute: a dimension name, or "kv:<key>" for key-values. */
  readonly attr: string;
  readonly values: readonly string[];
  readonly negated: boolean;
}
export type Conjunction = readonly Literal[];

export const DNF_MAX_CONJUNCTIONS = 64;

/** The attribute name of a predicate: key-values are one attribute per key. */
export function attributeOf(p: TargetingPredicate): string {
  return p.dimension === 'kv' ? `kv:${p.key ?? ''}` : p.dimension;
}

/** Values as the index and the scan see them: strings; hour and weekday are qualified by zone later. */
export function predicateValues(p: TargetingPredicate): string[] {
  return p.values.map((v) => (p.dimension === 'keyword' ? String(v).toLowerCase() : String(v)));
}

/** The DNF of a tree (null = match everything): [[]] is "true", [] is "false", undefined is "too large". */
export function toDnf(root: TargetingNode | null, limit: number = DNF_MAX_CONJUNCTIONS): Conjunction[] | undefined {
  if (root === null) return [[]];
  try {
    return dnf(root, false, limit);
  } catch (e) {
    if (e === TOO_LARGE) return undefined;
    throw e;
  }
}

const TOO_LARGE = Symbol('dnf too large');

function dnf(n: TargetingNode, negate: boolean, limit: number): Conjunction[] {
  if (isNot(n)) return dnf(n.not, !negate, limit);
  if (isAnd(n) || isOr(n)) {
    const children = isAnd(n) ? n.and : n.or;
    // AND under no negation, or OR under negation (De Morgan): a product of the children.
    const product = isAnd(n) !== negate;
    if (product) {
      let acc: Conjunction[] = [[]]; // empty AND is true
      for (const c of children) {
        const d = dnf(c, negate, limit);
        if (d.length === 0) return []; // a false factor makes the product false
        if (acc.length * d.length > limit) throw TOO_LARGE;
        const next: Conjunction[] = [];
        for (const a of acc) for (const b of d) next.push(a.length === 0 ? b : b.length === 0 ? a : [...a, ...b]);
        acc = next;
      }
      return acc;
    }
    const out: Conjunction[] = []; // empty OR is false
    for (const c of children) {
      for (const conj of dnf(c, negate, limit)) {
        out.push(conj);
        if (out.length > limit) throw TOO_LARGE;
      }
    }
    return out;
  }
  const values = predicateValues(n);
  if (values.length === 0) return negate ? [[]] : []; // ∉ {} is true, ∈ {} is false
  return [[{ attr: attributeOf(n), values, negated: negate }]];
}
