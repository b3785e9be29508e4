import type { EncodedEvent } from './event-log.ts';
import { EVENT_KINDS, type TrackingEvent } from './tracking-event.ts';

/**
 * NDJSON encoding: one JSON object per event, no trailing newline (the log frames each record, and an
 * export adds the newline). JSON of a fixed-shape object is, measured in bench/event-log.ts, cheaper per event
 * than a hand-written binary encoder in JavaScript; it also makes the raw export a plain copy.
 */
export function encodeEvent(event: TrackingEvent): EncodedEvent {
  return { id: event.eventId, data: Buffer.from(stringifyEvent(event)) };
}

/**
 * JSON of one event, what JSON.parse gives back as an equal object: a template over the known fields of
 * TrackingEvent (about 2.5x cheaper than JSON.stringify in bench/event-codec.ts), `kind` first (readers skip
 * request events by the prefix `{"kind":"request"`), the optional fields when present in the order the tracking
 * service adds them (OPTIONAL_FIELDS; for its impressions, clicks and views the text is JSON.stringify's).
 * Anything the template cannot write as JSON.stringify would (a field of an unexpected type, a number that is not
 * finite, a key it does not know) makes it fall back to JSON.stringify of the whole event, so it never loses or
 * misspells a field. Strings with a character JSON escapes (quote, backslash, control, surrogate) go through
 * JSON.stringify on their own.
 */
export function stringifyEvent(e: TrackingEvent): string {
  bad = false;
  let present = REQUIRED_FIELDS;
  let tail = '';
  // Optional fields in the order the tracking service writes them (so its events' text is JSON.stringify's).
  if (e.ip !== undefined) {
    tail += `,"ip":"${str(e.ip)}"`;
    present++;
  }
  if (e.ua !== undefined) {
    tail += `,"ua":"${str(e.ua)}"`;
    present++;
  }
  if (e.source !== undefined) {
    tail += `,"source":"${str(e.source)}"`;
    present++;
  }
  if (e.pricingModel !== undefined) {
    tail += `,"pricingModel":"${str(e.pricingModel)}"`;
    present++;
  }
  if (e.currency !== undefined) {
    tail += `,"currency":"${str(e.currency)}"`;
    present++;
  }
  if (e.rateMicros !== undefined) {
    tail += `,"rateMicros":${num(e.rateMicros)}`;
    present++;
  }
  if (e.valueMicros !== undefined) {
    tail += `,"valueMicros":${num(e.valueMicros)}`;
    present++;
  }
  if (e.orderId !== undefined) {
    tail += `,"orderId":"${str(e.orderId)}"`;
    present++;
  }
  if (e.attribution !== undefined) {
    tail += `,"attribution":"${str(e.attribution)}"`;
    present++;
  }
  if (e.name !== undefined) {
    tail += `,"name":"${str(e.name)}"`;
    present++;
  }
  const text =
    `{"kind":"${str(e.kind)}","eventId":"${str(e.eventId)}","decisionId":"${str(e.decisionId)}",` +
    `"lineItemId":"${str(e.lineItemId)}","creativeId":"${str(e.creativeId)}","advertiserId":"${str(e.advertiserId)}",` +
    `"campaignId":"${str(e.campaignId)}","publisherId":"${str(e.publisherId)}","siteId":"${str(e.siteId)}",` +
    `"placementId":"${str(e.placementId)}","tsMs":${num(e.tsMs)},"priceMicros":${num(e.priceMicros)},` +
    `"country":"${str(e.country)}","deviceType":"${str(e.deviceType)}","userKey":"${str(e.userKey)}",` +
    `"verdict":"${str(e.verdict)}","reason":"${str(e.reason)}"${tail}}`;
  // A key the template does not know (or one set to undefined, which JSON.stringify leaves out): the generic path.
  if (bad || Object.keys(e).length !== present) return JSON.stringify(e);
  return text;
}

const REQUIRED_FIELDS = 17;
/** The optional fields the template writes; adding one to TrackingEvent without the template fails to compile. */
const OPTIONAL_FIELDS = [
  'ip',
  'ua',
  'source',
  'pricingModel',
  'currency',
  'rateMicros',
  'valueMicros',
  'orderId',
  'attribution',
  'name',
] as const;
type OptionalKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const optionalFieldsAreAll: Same<(typeof OPTIONAL_FIELDS)[number], OptionalKeys<TrackingEvent>> = true;
void optionalFieldsAreAll;

/** Set by str/num when a value cannot go into the template as it is. */
let bad = false;
/** Strings JSON.stringify writes as they are (no quote, backslash, control character or surrogate). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are exactly what JSON escapes
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function str(v: unknown): string {
  if (typeof v !== 'string') {
    bad = true;
    return '';
  }
  return PLAIN.test(v) ? v : JSON.stringify(v).slice(1, -1);
}

function num(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    bad = true;
    return 0;
  }
  return v;
}

/**
 * The same bytes as encodeEvent for each event, written into shared slabs of SLAB_BYTES (each event's data is a
 * view of one): one allocation per few hundred events instead of one per event, and each text is written as soon
 * as it is made (keeping a batch of unflattened strings alive costs more in garbage collection than it saves).
 */
export function encodeEvents(events: readonly TrackingEvent[]): EncodedEvent[] {
  const n = events.length;
  const out = new Array<EncodedEvent>(n);
  let slab = EMPTY;
  let off = 0;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    const text = stringifyEvent(e);
    // 3 bytes per UTF-16 unit is the most UTF-8 can take, so a write never comes out cut.
    const most = text.length * 3;
    if (most > SLAB_BYTES >> 3) {
      out[i] = { id: e.eventId, data: Buffer.from(text) };
      continue;
    }
    if (slab.length - off < most) {
      // Sized to what is left (at 3 bytes per unit of this text); a small rest (a single pixel hit) takes Buffer's
      // shared pool, as encodeEvent does, rather than a slab of its own.
      const want = Math.min(SLAB_BYTES, (n - i) * most);
      if (want < SMALL_BYTES) {
        out[i] = { id: e.eventId, data: Buffer.from(text) };
        continue;
      }
      slab = Buffer.allocUnsafeSlow(want);
      off = 0;
    }
    const written = slab.write(text, off, 'utf8');
    out[i] = { id: e.eventId, data: slab.subarray(off, off + written) };
    off += written;
  }
  return out;
}

const SLAB_BYTES = 256 * 1024;
const SMALL_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

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
