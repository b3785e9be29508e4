import { describe, expect, it } from 'vitest';
import { isId, newId } from './ids.ts';

describe('ids', () => {
  it('are prefixed, valid and unique', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newId('lineItem');
      expect(id.startsWith('li_')).toBe(true);
      expect(isId(id)).toBe(true);
      ids.add(id);
    }
    expect(ids.size).toBe(1000);
  });

  it('sort by creation time', () => {
    const a = newId('advertiser', 1_700_000_000_000);
    const b = newId('advertiser', 1_700_000_000_001);
    const c = newId('advertiser', 1_800_000_000_000);
    expect([c, b, a].sort()).toEqual([a, b, c]);
  });

  it('rejects what is not an id', () => {
    for (const bad of ['', 'li-123', "li_1'; drop table", 'LI_ABC', 'x_1', `li_${'a'.repeat(41)}`]) {
      expect(isId(bad)).toBe(false);
    }
  });
});
