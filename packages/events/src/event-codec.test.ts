import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeEvent, EventDecodeError, encodeEvent, encodeEvents, stringifyEvent, toNdjson } from './event-codec.ts';
import { sampleEvent } from './testing/sample-events.ts';
import type { TrackingEvent } from './tracking-event.ts';

it('round-trips an event through NDJSON', () => {
  const event = { ...sampleEvent(7), ua: 'Mozilla/5.0 "quoted" \u2028 ünïcode' };
  const encoded = encodeEvent(event);
  expect(encoded.id).toBe(event.eventId);
  expect(decodeEvent(encoded.data)).toEqual(event);
});

it('rejects records that are not tracking events', () => {
  const bad = ['not json', '[]', '{}', JSON.stringify({ ...sampleEvent(1), kind: 'nope' })];
  bad.push(JSON.stringify({ ...sampleEvent(1), priceMicros: 1.5 }));
  bad.push(JSON.stringify({ ...sampleEvent(1), verdict: 'maybe' }));
  for (const text of bad) expect(() => decodeEvent(Buffer.from(text))).toThrow(EventDecodeError);
});

it('exports records as NDJSON lines', () => {
  const records = [0, 1, 2].map((n) => encodeEvent(sampleEvent(n)));
  const lines = toNdjson(records).toString().split('\n');
  expect(lines.pop()).toBe('');
  expect(lines.map((l) => JSON.parse(l).eventId)).toEqual(['ev-0', 'ev-1', 'ev-2']);
});

it('encodes a batch to the same bytes as one event at a time, whatever the characters and their place', () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.string({ maxLength: 40, unit: 'binary' }), { nil: undefined }), {
        minLength: 0,
        maxLength: 12,
      }),
      (uas) => {
        const events = uas.map((ua, i) => (ua === undefined ? sampleEvent(i) : { ...sampleEvent(i), ua }));
        const batch = encodeEvents(events);
        expect(batch.length).toBe(events.length);
        for (let i = 0; i < events.length; i++) {
          expect(batch[i]!.id).toBe(events[i]!.eventId);
          expect(Buffer.from(batch[i]!.data)).toEqual(encodeEvent(events[i]!).data);
          expect(decodeEvent(batch[i]!.data)).toEqual(events[i]);
        }
      },
    ),
    { numRuns: 200 },
  );
  // A non-ASCII text last, and one too long for a slab.
  const last = { ...sampleEvent(1), ua: 'é' };
  const long = { ...sampleEvent(2), ua: 'ü'.repeat(20_000) };
  const three = encodeEvents([sampleEvent(0), long, last]);
  expect(three.map((r) => decodeEvent(r.data))).toEqual([sampleEvent(0), long, last]);
  // Enough events to fill several slabs, a non-ASCII one and an oversized one among them.
  const many = Array.from({ length: 3_000 }, (_, i) =>
    i === 1_234 ? long : i % 500 === 7 ? { ...sampleEvent(i), ua: `ü${'€'.repeat(i % 50)}` } : sampleEvent(i),
  );
  const encoded = encodeEvents(many);
  for (let i = 0; i < many.length; i++) {
    expect(Buffer.from(encoded[i]!.data)).toEqual(encodeEvent(many[i]!).data);
  }
  expect(new Set(encoded.map((r) => r.data.buffer)).size).toBeLessThan(20);
});

it('writes what JSON.stringify writes (the same text for events in the tracking service field order), for any values', () => {
  const text = fc.string({ maxLength: 20, unit: 'binary' });
  const optional = {
    ip: text,
    ua: text,
    source: text,
    pricingModel: fc.constantFrom('cpm', 'cpc', 'cpa', 'flat'),
    currency: text,
    rateMicros: fc.integer(),
    valueMicros: fc.integer(),
    orderId: text,
    attribution: fc.constantFrom('click', 'view', ''),
    name: text,
  } as const;
  fc.assert(
    fc.property(fc.nat(), fc.record(optional, { requiredKeys: [] }), text, fc.double(), (n, extra, id, price) => {
      const base = sampleEvent(n);
      // Declared order (sampleEvent's required fields, then the optional ones in OPTIONAL_FIELDS order).
      const ordered: Record<string, unknown> = { ...base, eventId: id, ip: undefined };
      delete ordered.ip;
      for (const k of Object.keys(optional)) if (k in extra) ordered[k] = extra[k as keyof typeof extra];
      const e = ordered as unknown as TrackingEvent;
      expect(stringifyEvent(e)).toBe(JSON.stringify(e));
      // Any other shape: equal once parsed.
      const odd = { ...e, priceMicros: price, zz: 'unknown key', ip: undefined } as unknown as TrackingEvent;
      expect(JSON.parse(stringifyEvent(odd))).toEqual(JSON.parse(JSON.stringify(odd)));
      const reordered = { source: 'x', ...e, kind: 'request' } as TrackingEvent;
      expect(stringifyEvent(reordered).startsWith('{"kind":"request"')).toBe(true);
      expect(JSON.parse(stringifyEvent(reordered))).toEqual(JSON.parse(JSON.stringify(reordered)));
    }),
    { numRuns: 300 },
  );
});

it('writes a batch as the UTF-8 of each text, whichever path wrote it (ASCII, wider characters, the generic path)', () => {
  const text = fc.string({ maxLength: 20, unit: 'binary' });
  fc.assert(
    fc.property(
      fc.array(fc.record({ n: fc.nat(), ua: text, extra: fc.option(text, { nil: undefined }), price: fc.double() }), {
        minLength: 1,
        maxLength: 30,
      }),
      (specs) => {
        const events = specs.map(({ n, ua, extra, price }) => {
          const e: Record<string, unknown> = { ...sampleEvent(n), ua };
          // An unknown key (the generic JSON.stringify path), or a number the template cannot write.
          if (extra !== undefined) e[n % 2 ? 'zz' : 'ua'] = extra;
          if (n % 3 === 0) e.priceMicros = price;
          return e as unknown as TrackingEvent;
        });
        const batch = encodeEvents(events);
        for (let i = 0; i < events.length; i++) {
          expect(Buffer.from(batch[i]!.data).toString('utf8')).toBe(stringifyEvent(events[i]!));
          expect(Buffer.from(batch[i]!.data)).toEqual(Buffer.from(stringifyEvent(events[i]!)));
        }
      },
    ),
    { numRuns: 300 },
  );
});

it('neither coerces nor throws on a value of another type (the generic path: JSON.stringify of the event)', () => {
  let called = 0;
  const sneaky = { toString: () => `${++called}` };
  for (const odd of [Symbol('x'), sneaky, 12, null]) {
    const e = { ...sampleEvent(3), ua: odd } as unknown as TrackingEvent;
    expect(stringifyEvent(e)).toBe(JSON.stringify(e));
  }
  expect(called).toBe(0);
  // One string that JSON escapes among plain ones: only it is escaped.
  const quoted = { ...sampleEvent(4), ua: 'say "hi"\n' };
  expect(stringifyEvent(quoted)).toBe(JSON.stringify(quoted));
});
