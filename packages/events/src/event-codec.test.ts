import { expect, it } from 'vitest';
import { decodeEvent, EventDecodeError, encodeEvent, toNdjson } from './event-codec.ts';
import { sampleEvent } from './testing/sample-events.ts';

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
