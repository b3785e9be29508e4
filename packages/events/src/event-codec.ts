import type { EncodedEvent } from './event-log.ts';
import { EVENT_KINDS, type TrackingEvent } from './tracking-event.ts';

/**
 * NDJSON encoding: one JSON object per event, no trailing newline (the log frames each record, and an
 * export adds the newline). JSON.stringify of a fixed-shape object is V8's fast path and, measured in
 * bench/event-log.ts, cheaper per event than a hand-written binary encoder in JavaScript; it also makes the
 * raw export a plain copy.
 */
export function encodeEvent(event: TrackingEvent): EncodedEvent {
  return { id: event.eventId, data: Buffer.from(JSON.stringify(event)) };
}

export function encodeEvents(events: readonly TrackingEvent[]): EncodedEvent[] {
  const out = new Array<EncodedEvent>(events.length);
  for (let i = 0; i < events.length; i++) out[i] = encodeEvent(events[i]!);
  return out;
}

const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);
const STRING_FIELDS = [
  'eventId',
  'decisionId',
  'lineItemId',
  'creativeId',
  'advertiserId',
  'campaignId',
  'publisherId',
  'siteId',
  'placementId',
  'country',
  'deviceType',
  'userKey',
  'reason',
] as const;

export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
}

/** Parses one logged record back into an event; throws EventDecodeError when it is not a tracking event. */
export function decodeEvent(data: Uint8Array): TrackingEvent {
  let value: unknown;
  try {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EventDecodeError('record is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw new EventDecodeError('record is not an object');
  const e = value as Record<string, unknown>;
  if (typeof e['kind'] !== 'string' || !KINDS.has(e['kind'])) throw new EventDecodeError('bad kind');
  for (const f of STRING_FIELDS) {
    if (typeof e[f] !== 'string') throw new EventDecodeError(`bad ${f}`);
  }
  if (!Number.isSafeInteger(e['tsMs'])) throw new EventDecodeError('bad tsMs');
  if (!Number.isSafeInteger(e['priceMicros'])) throw new EventDecodeError('bad priceMicros');
  if (e['verdict'] !== 'valid' && e['verdict'] !== 'invalid') throw new EventDecodeError('bad verdict');
  return value as TrackingEvent;
}

/** One NDJSON line (with its newline) per record, for the raw export used by model training. */
export function toNdjson(records: readonly { readonly data: Uint8Array }[]): Buffer {
  let size = 0;
  for (const r of records) size += r.data.byteLength + 1;
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (const r of records) {
    out.set(r.data, off);
    off += r.data.byteLength;
    out[off++] = 0x0a;
  }
  return out;
}
