import type { TargetingNode } from '@marquee/core/targeting';
import { describe, expect, it } from 'vitest';
import {
  apiDepth,
  describeTargeting,
  emptyRoot,
  fromTargeting,
  type GroupNode,
  newGroup,
  newRule,
  toTargeting,
  updateNode,
} from './targeting-tree.ts';

describe('targeting tree', () => {
  it('an empty editor means everywhere (null)', () => {
    expect(toTargeting(emptyRoot())).toBeNull();
  });

  it('round-trips AND / OR / NOT trees with numeric hour and kv keys', () => {
    const tree: TargetingNode = {
      and: [
        { dimension: 'country', values: ['US', 'CA'] },
        { not: { dimension: 'device', values: ['mobile'] } },
        {
          or: [
            { dimension: 'hour', values: [9, 10] },
            { dimension: 'kv', key: 'section', values: ['sport'] },
          ],
        },
        {
          not: {
            or: [
              { dimension: 'keyword', values: ['war'] },
              { dimension: 'category', values: ['IAB25'] },
            ],
          },
        },
      ],
    };
    expect(toTargeting(fromTargeting(tree))).toEqual(tree);
  });

  it('drops rules without values and unwraps groups of one', () => {
    let root: GroupNode = { ...emptyRoot(), children: [newRule('country'), newGroup('or')] };
    const country = root.children[0]!;
    root = updateNode(root, country.id, (n) => ({ ...n, values: ['FR'] }) as typeof n);
    expect(toTargeting(root)).toEqual({ dimension: 'country', values: ['FR'] });
  });

  it('negates a group and removes nodes by id', () => {
    const rule = { ...newRule('site'), values: ['site_01abc'] };
    const other = { ...newRule('device'), values: ['tablet'] };
    let root: GroupNode = { ...emptyRoot(), op: 'or', negate: true, children: [rule, other] };
    expect(toTargeting(root)).toEqual({
      not: {
        or: [
          { dimension: 'site', values: ['site_01abc'] },
          { dimension: 'device', values: ['tablet'] },
        ],
      },
    });
    root = updateNode(root, other.id, () => null);
    expect(toTargeting(root)).toEqual({ not: { dimension: 'site', values: ['site_01abc'] } });
  });

  it('measures depth as the API does (NOT counts) and reads the tree in words', () => {
    const tree: TargetingNode = { and: [{ not: { dimension: 'os', values: ['ios'] } }] };
    expect(apiDepth(tree)).toBe(3);
    expect(describeTargeting(tree)).toBe('NOT os is ios');
    expect(describeTargeting(null)).toMatch(/Everywhere/);
  });
});
