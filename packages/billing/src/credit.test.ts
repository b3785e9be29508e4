import { describe, expect, it } from 'vitest';
import { SwappableBillingGate } from './billing-gate.ts';
import { availableMicros, stoppedAdvertisers } from './credit.ts';

const e = (advertiserId: string, balanceMicros: number, unpostedMicros: number, creditLimitMicros: number | null) => ({
  advertiserId,
  currency: 'USD',
  balanceMicros,
  unpostedMicros,
  creditLimitMicros,
});

describe('credit limits and prepaid funds', () => {
  it('available = limit − balance − unposted spend; stopped at or below zero; no limit never stops', () => {
    // Prepaid 10.00 (balance −10), spent 4 posted + 1 unposted, no credit: 5 left.
    expect(availableMicros(e('a', -10_000_000 + 4_000_000, 1_000_000, 0))).toBe(5_000_000);
    expect(availableMicros(e('b', 1, 0, null))).toBeNull();
    const stopped = stoppedAdvertisers([
      e('prepaid-left', -1, 0, 0),
      e('prepaid-used', 0, 0, 0),
      e('credit-used', 400, 100, 500),
      e('credit-left', 400, 99, 500),
      e('postpaid', 10 ** 12, 0, null),
    ]);
    expect([...stopped].sort()).toEqual(['credit-used', 'prepaid-used']);
  });

  it('the gate answers from the set swapped in whole', () => {
    const gate = new SwappableBillingGate();
    expect(gate.isStopped('a')).toBe(false);
    gate.replace(new Set(['a']));
    expect(gate.isStopped('a')).toBe(true);
    expect(gate.size).toBe(1);
    gate.replace(new Set());
    expect(gate.isStopped('a')).toBe(false);
  });
});
