import type { TargetingNode } from '@marquee/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Conjunction, toDnf } from './dnf.ts';
import { KeyedConjunctionIndex } from './keyed-conjunction-index.ts';
import { type ConjunctionIndex, type IndexInput, TargetingIndex } from './targeting-index.ts';
import { type Assignment, compileTree, matchConjunctions } from './targeting-scan.ts';

// Small value domains so that random trees and random requests actually meet.
const DOMAINS: Record<string, string[]> = {
  country: ['US', 'CA', 'FR', 'DE'],
  device: ['mobile', 'desktop', 'tablet'],
  keyword: ['a', 'b', 'c', 'd', 'e'],
  segment: ['s1', 's2', 's3'],
  'kv:sec': ['news', 'sport'],
};
const ATTRS = Object.keys(DOMAINS);

const predicate: fc.Arbitrary<TargetingNode> = fc
  .constantFrom(...ATTRS)
  .chain((attr) =>
    fc
      .subarray(DOMAINS[attr]!, { minLength: 1 })
      .map((values) =>
        attr.startsWith('kv:')
          ? { dimension: 'kv' as const, key: attr.slice(3), values }
          : { dimension: attr as 'country', values },
      ),
  );

const tree: fc.Arbitrary<TargetingNode> = fc.letrec<{ node: TargetingNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    predicate,
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((and) => ({ and })),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((or) => ({ or })),
    tie('node').map((not) => ({ not })),
  ),
})).node;

const assignment: fc.Arbitrary<Assignment> = fc
  .record({
    country: fc.subarray(DOMAINS.country!, { maxLength: 1 }),
    device: fc.subarray(DOMAINS.device!, { maxLength: 1 }),
    keyword: fc.subarray(DOMAINS.keyword!),
    segment: fc.subarray(DOMAINS.segment!),
    'kv:sec': fc.subarray(DOMAINS['kv:sec']!),
  })
  .map((r) => new Map(Object.entries(r).filter(([, v]) => v.length > 0)));

function indexMatches(index: ConjunctionIndex, a: Assignment): number[] {
  const n = index.match(a);
  return Array.from(index.out.subarray(0, n)).sort((x, y) => x - y);
}

describe('toDnf', () => {
  it('is equivalent to the tree', () => {
    fc.assert(
      fc.property(tree, fc.array(assignment, { minLength: 1, maxLength: 10 }), (t, as) => {
        const dnf = toDnf(t, 10_000);
        fc.pre(dnf !== undefined);
        const scan = compileTree(t, 'UTC');
        for (const a of as) expect(matchConjunctions(dnf!, a)).toBe(scan(a));
      }),
      { numRuns: 500 },
    );
  });

  it('handles NOT, empty AND/OR and null', () => {
    const p = { dimension: 'country' as const, values: ['US'] };
    expect(toDnf(null)).toEqual([[]]);
    expect(toDnf({ and: [] })).toEqual([[]]);
    expect(toDnf({ or: [] })).toEqual([]);
    expect(toDnf({ not: { or: [] } })).toEqual([[]]);
    expect(toDnf({ not: p })).toEqual([[{ attr: 'country', values: ['US'], negated: true }]]);
    expect(toDnf({ not: { not: p } })).toEqual([[{ attr: 'country', values: ['US'], negated: false }]]);
    // NOT (A AND B) = NOT A OR NOT B
    const q = { dimension: 'device' as const, values: ['mobile'] };
    expect(toDnf({ not: { and: [p, q] } })).toHaveLength(2);
    expect(toDnf({ dimension: 'kv', key: 'sec', values: ['News'] })).toEqual([
      [{ attr: 'kv:sec', values: ['News'], negated: false }],
    ]);
    expect(toDnf({ dimension: 'keyword', values: ['News'] })).toEqual([
      [{ attr: 'keyword', values: ['news'], negated: false }],
    ]);
  });

  it('gives up past the limit instead of exploding', () => {
    // An AND of 10 two-way ORs has 1024 conjunctions.
    const or = (i: number): TargetingNode => ({
      or: [
        { dimension: 'keyword', values: [`a${i}`] },
        { dimension: 'keyword', values: [`b${i}`] },
      ],
    });
    const big: TargetingNode = { and: Array.from({ length: 10 }, (_, i) => or(i)) };
    expect(toDnf(big, 64)).toBeUndefined();
    expect(toDnf(big, 2000)).toHaveLength(1024);
  });

  it('stays correct in deep trees', () => {
    let t: TargetingNode = { dimension: 'country', values: ['US'] };
    for (let i = 0; i < 8; i++) t = i % 2 ? { not: t } : { and: [t, { dimension: 'device', values: ['mobile'] }] };
    const dnf = toDnf(t, 10_000)!;
    const scan = compileTree(t, 'UTC');
    for (const country of ['US', 'FR'])
      for (const device of ['mobile', 'desktop']) {
        const a = new Map([
          ['country', [country]],
          ['device', [device]],
        ]);
        expect(matchConjunctions(dnf, a)).toBe(scan(a));
      }
  });
});

const KINDS: [string, (inputs: IndexInput[], n: number) => ConjunctionIndex][] = [
  ['conjunction algorithm (Whang et al.)', (i, n) => TargetingIndex.build(i, n)],
  ['selective-key index', (i, n) => KeyedConjunctionIndex.build(i, n)],
];

describe.each(KINDS)('%s', (_name, build) => {
  it('finds exactly what the linear scan finds (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(tree, { nil: null, freq: 8 }), { minLength: 1, maxLength: 40 }),
        fc.array(assignment, { minLength: 1, maxLength: 20 }),
        (trees, as) => {
          const dnfs = trees.map((t) => toDnf(t, 10_000));
          fc.pre(dnfs.every((d) => d !== undefined));
          const index = build(
            dnfs.map((conjunctions, item) => ({ item, conjunctions: conjunctions as Conjunction[] })),
            trees.length,
          );
          const scans = trees.map((t) => compileTree(t, 'UTC'));
          for (const a of as) {
            const expected = scans.flatMap((s, i) => (s(a) ? [i] : []));
            expect(indexMatches(index, a)).toEqual(expected);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('counts a multi-valued literal once and two literals on one attribute separately', () => {
    const conj = (...lits: [string, string[], boolean][]): Conjunction =>
      lits.map(([attr, values, negated]) => ({ attr, values, negated }));
    const index = build(
      [
        // keyword in {a,b} AND country in {US}: a page with a and b but no country must not match.
        { item: 0, conjunctions: [conj(['keyword', ['a', 'b'], false], ['country', ['US'], false])] },
        // keyword a AND keyword b
        { item: 1, conjunctions: [conj(['keyword', ['a'], false], ['keyword', ['b'], false])] },
        // keyword a AND NOT keyword b
        { item: 2, conjunctions: [conj(['keyword', ['a'], false], ['keyword', ['b'], true])] },
        // only NOT: matches everything without country FR
        { item: 3, conjunctions: [conj(['country', ['FR'], true])] },
        { item: 4, conjunctions: [] },
        { item: 5, conjunctions: [[]] },
      ],
      6,
    );
    expect(indexMatches(index, new Map([['keyword', ['a', 'b']]]))).toEqual([1, 3, 5]);
    expect(indexMatches(index, new Map([['keyword', ['a']]]))).toEqual([2, 3, 5]);
    expect(
      indexMatches(
        index,
        new Map([
          ['keyword', ['a', 'b']],
          ['country', ['US']],
        ]),
      ),
    ).toEqual([0, 1, 3, 5]);
    expect(indexMatches(index, new Map([['country', ['FR']]]))).toEqual([5]);
  });
});
