import { describe, expect, it } from 'vitest';
import {
  advertiserAccount,
  assertBalanced,
  entryProblems,
  type JournalEntryDraft,
  networkAccount,
} from './journal-entry.ts';

const draft = (lines: JournalEntryDraft['lines'], currency = 'USD'): JournalEntryDraft => ({
  postingKey: 'k',
  kind: 'adjustment',
  currency,
  hourMs: null,
  advertiserId: 'adv_a',
  publisherId: null,
  memo: 'test',
  lines,
});

describe('journal entries', () => {
  it('accepts lines that sum to zero', () => {
    const ok = draft([
      { account: advertiserAccount('adv_a', 'USD'), amountMicros: -5 },
      { account: networkAccount('adjustments', 'USD'), amountMicros: 5 },
    ]);
    expect(entryProblems(ok)).toEqual([]);
    expect(() => assertBalanced(ok)).not.toThrow();
  });

  it('refuses unbalanced, zero, unsafe, single-line and mixed-currency entries', () => {
    const adv = advertiserAccount('adv_a', 'USD');
    const adj = networkAccount('adjustments', 'USD');
    expect(
      entryProblems(
        draft([
          { account: adv, amountMicros: 5 },
          { account: adj, amountMicros: -4 },
        ]),
      ),
    ).toEqual(['lines sum to 1, not 0']);
    expect(
      entryProblems(
        draft([
          { account: adv, amountMicros: 0 },
          { account: adj, amountMicros: 0 },
        ]),
      ),
    ).toContain('line 0: amount is zero');
    expect(
      entryProblems(
        draft([
          { account: adv, amountMicros: 2 ** 53 },
          { account: adj, amountMicros: -(2 ** 53) },
        ]),
      ),
    ).toHaveLength(2);
    expect(
      entryProblems(
        draft([
          { account: adv, amountMicros: 1.5 },
          { account: adj, amountMicros: -1.5 },
        ]),
      ),
    ).toHaveLength(2);
    expect(entryProblems(draft([{ account: adv, amountMicros: 1 }]))).toContain('an entry needs at least two lines');
    expect(
      entryProblems(
        draft([
          { account: adv, amountMicros: 1 },
          { account: networkAccount('cash', 'EUR'), amountMicros: -1 },
        ]),
      ),
    ).toEqual(["line 1: account currency EUR differs from the entry's USD"]);
    expect(() =>
      assertBalanced(
        draft([
          { account: adv, amountMicros: 1 },
          { account: adj, amountMicros: 1 },
        ]),
      ),
    ).toThrow(RangeError);
  });
});
