/**
 * The plain matcher: evaluate each line item's targeting tree against the request. It is the
 * oracle of the index's property test, the benchmark's baseline, and the path of explain mode
 * (which must give every line item a reason) and of residual line items (DNF too large to index).
 */
import { isAnd, isNot, isOr, type TargetingNode } from '@marquee/core';
import { attributeOf, type Conjunction, predicateValues } from './dnf.ts';
import { zonedValue } from './zone-clock.ts';

/**
 * The request as the matchers see it: attribute -> the request's values. Multi-valued attributes
 * (keyword, category, segment, kv:*) carry several; hour and weekday carry one value per time zone
 * in use ("Europe/Paris|14"), so a line item's hour predicate sees the hour of its own zone.
 */
export type Assignment = ReadonlyMap<string, readonly string[]>;

export type TreeMatcher = (a: Assignment) => boolean;

const ALWAYS: TreeMatcher = () => true;

/** Compiles a tree into closures over Sets (a fair baseline: no per-request parsing). */
export function compileTree(root: TargetingNode | null, zone: string): TreeMatcher {
  if (root === null) return ALWAYS;
  return compileNode(root, zone);
}

function compileNode(n: TargetingNode, zone: string): TreeMatcher {
  if (isNot(n)) {
    const inner = compileNode(n.not, zone);
    return (a) => !inner(a);
  }
  if (isAnd(n)) {
    const parts = n.and.map((c) => compileNode(c, zone));
    return (a) => {
      for (const p of parts) if (!p(a)) return false;
      return true;
    };
  }
  if (isOr(n)) {
    const parts = n.or.map((c) => compileNode(c, zone));
    return (a) => {
      for (const p of parts) if (p(a)) return true;
      return false;
    };
  }
  const attr = attributeOf(n);
  const zoned = n.dimension === 'hour' || n.dimension === 'weekday';
  const values = predicateValues(n).map((v) => (zoned ? zonedValue(zone, v) : v));
  // Short lists are scanned: a Set per predicate would cost ~200 bytes each, at 100k line items
  // tens of megabytes, for no speed.
  if (values.length <= 8) {
    return (a) => {
      const vs = a.get(attr);
      if (vs === undefined) return false;
      for (let i = 0; i < vs.length; i++) if (values.includes(vs[i]!)) return true;
      return false;
    };
  }
  const set = new Set(values);
  return (a) => {
    const vs = a.get(attr);
    if (vs === undefined) return false;
    for (let i = 0; i < vs.length; i++) if (set.has(vs[i]!)) return true;
    return false;
  };
}

/** Evaluates a DNF directly (used by tests to check toDnf against the tree). */
export function matchConjunctions(conjunctions: readonly Conjunction[], a: Assignment): boolean {
  return conjunctions.some((c) =>
    c.every((lit) => {
      const vs = a.get(lit.attr) ?? [];
      const hit = vs.some((v) => lit.values.includes(v));
      return lit.negated ? !hit : hit;
    }),
  );
}
