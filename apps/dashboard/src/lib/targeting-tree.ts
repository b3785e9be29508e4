/**
 * The targeting editor's model: groups (all of / any of) of rules, each group or rule optionally negated,
 * converted to and from the API's AND / OR / NOT tree (packages/core/src/targeting.ts). Pure functions, no DOM.
 */
import {
  isAnd,
  isNot,
  isOr,
  TARGETING_MAX_DEPTH,
  type TargetingDimension,
  type TargetingNode,
} from '@marquee/core/targeting';

export interface RuleNode {
  readonly kind: 'rule';
  readonly id: number;
  readonly negate: boolean;
  readonly dimension: TargetingDimension;
  readonly key: string;
  readonly values: readonly string[];
}
export interface GroupNode {
  readonly kind: 'group';
  readonly id: number;
  readonly negate: boolean;
  readonly op: 'and' | 'or';
  readonly children: readonly EditNode[];
}
export type EditNode = RuleNode | GroupNode;

let nextId = 1;
export function newId(): number {
  return nextId++;
}

export function emptyRoot(): GroupNode {
  return { kind: 'group', id: newId(), negate: false, op: 'and', children: [] };
}
export function newRule(dimension: TargetingDimension = 'country'): RuleNode {
  return { kind: 'rule', id: newId(), negate: false, dimension, key: '', values: [] };
}
export function newGroup(op: 'and' | 'or' = 'or'): GroupNode {
  return { kind: 'group', id: newId(), negate: false, op, children: [newRule()] };
}

/** Dimensions whose values are integers in the API. */
const NUMERIC: ReadonlySet<TargetingDimension> = new Set(['hour', 'weekday']);

function wrap(node: TargetingNode, negate: boolean): TargetingNode {
  return negate ? { not: node } : node;
}

/** Editor tree -> API tree. An empty root means "everywhere" (null); empty rules and groups are dropped. */
export function toTargeting(root: GroupNode): TargetingNode | null {
  return convert(root) ?? null;
}

function convert(node: EditNode): TargetingNode | undefined {
  if (node.kind === 'rule') {
    if (node.values.length === 0) return undefined;
    const values = NUMERIC.has(node.dimension) ? node.values.map(Number) : [...node.values];
    const predicate: TargetingNode =
      node.dimension === 'kv'
        ? { dimension: node.dimension, key: node.key, values }
        : { dimension: node.dimension, values };
    return wrap(predicate, node.negate);
  }
  const children = node.children.map((c) => convert(c)).filter((c): c is TargetingNode => c !== undefined);
  if (children.length === 0) return undefined;
  // A group of one says the same as its child (and a lone placement rule stays top-level, where it pins).
  const inner: TargetingNode =
    children.length === 1 ? (children[0] as TargetingNode) : node.op === 'and' ? { and: children } : { or: children };
  return wrap(inner, node.negate);
}

/** API tree -> editor tree; the root is always a group so the editor has somewhere to add rules. */
export function fromTargeting(node: TargetingNode | null | undefined): GroupNode {
  if (!node) return emptyRoot();
  const edit = toEdit(node, false);
  if (edit.kind === 'group') return edit;
  return { kind: 'group', id: newId(), negate: false, op: 'and', children: [edit] };
}

function toEdit(node: TargetingNode, negate: boolean): EditNode {
  if (isNot(node)) return toEdit(node.not, !negate);
  if (isAnd(node) || isOr(node)) {
    const list = isAnd(node) ? node.and : node.or;
    return {
      kind: 'group',
      id: newId(),
      negate,
      op: isAnd(node) ? 'and' : 'or',
      children: list.map((c) => toEdit(c, false)),
    };
  }
  return {
    kind: 'rule',
    id: newId(),
    negate,
    dimension: node.dimension,
    key: node.key ?? '',
    values: node.values.map(String),
  };
}

// ---------- immutable edits by node id ----------
export function updateNode(root: GroupNode, id: number, change: (n: EditNode) => EditNode | null): GroupNode {
  return (mapNode(root, id, change) as GroupNode | null) ?? emptyRoot();
}

function mapNode(node: EditNode, id: number, change: (n: EditNode) => EditNode | null): EditNode | null {
  if (node.id === id) return change(node);
  if (node.kind === 'rule') return node;
  const children: EditNode[] = [];
  let changed = false;
  for (const c of node.children) {
    const next = mapNode(c, id, change);
    if (next !== c) changed = true;
    if (next) children.push(next);
  }
  return changed ? { ...node, children } : node;
}

export function depthOf(node: EditNode): number {
  if (node.kind === 'rule') return 1;
  return 1 + Math.max(0, ...node.children.map(depthOf));
}

/** Each NOT adds a level in the API tree, so the limit is checked on the converted tree. */
export function apiDepth(node: TargetingNode | null): number {
  if (!node) return 0;
  if (isNot(node)) return 1 + apiDepth(node.not);
  if (isAnd(node)) return 1 + Math.max(0, ...node.and.map(apiDepth));
  if (isOr(node)) return 1 + Math.max(0, ...node.or.map(apiDepth));
  return 1;
}
export const MAX_DEPTH = TARGETING_MAX_DEPTH;

/** A one-line reading of the tree for people: `country is US, CA AND NOT (device is mobile)`. */
export function describeTargeting(node: TargetingNode | null | undefined): string {
  if (!node) return 'Everywhere (no targeting)';
  return say(node);
}
function say(node: TargetingNode): string {
  if (isNot(node)) return `NOT ${paren(node.not)}`;
  if (isAnd(node)) return node.and.map(paren).join(' AND ');
  if (isOr(node)) return node.or.map(paren).join(' OR ');
  const name = node.dimension === 'kv' ? `${node.key}` : node.dimension;
  return `${name} is ${node.values.join(', ')}`;
}
function paren(node: TargetingNode): string {
  return isAnd(node) || isOr(node) ? `(${say(node)})` : say(node);
}
