import type { DecisionRequest } from './decision-request.ts';
import { FIT_ATTR, type ServingPlacement, type ServingSnapshot } from './serving-snapshot.ts';
import type { ZoneClock } from './zone-clock.ts';

const one = (v: string | undefined): readonly string[] | undefined => (v ? [v] : undefined);

/** The request's attributes shared by all its placements (geo, device, page, user, local time per zone). */
export function requestAssignment(
  req: DecisionRequest,
  snapshot: ServingSnapshot,
  nowMs: number,
): Map<string, readonly string[]> {
  const a = new Map<string, readonly string[]>();
  const set = (attr: string, v: readonly string[] | undefined) => {
    if (v !== undefined && v.length > 0) a.set(attr, v);
  };
  set('country', one(req.country));
  set('region', one(req.region));
  set('device', one(req.device));
  set('os', one(req.os));
  set('browser', one(req.browser));
  set('keyword', req.keywords);
  set('segment', req.segments);
  if (req.kv) {
    for (const key in req.kv) {
      const v = req.kv[key]!;
      set(`kv:${key}`, typeof v === 'string' ? [v] : v);
    }
  }
  const zones = snapshot.targetingZones;
  if (zones.length > 0) {
    const hours: string[] = new Array(zones.length);
    const days: string[] = new Array(zones.length);
    for (let i = 0; i < zones.length; i++) {
      hours[i] = zones[i]!.hourKey(nowMs);
      days[i] = zones[i]!.weekdayKey(nowMs);
    }
    a.set('hour', hours);
    a.set('weekday', days);
  }
  return a;
}

/** Adds (overwrites) the placement's own attributes: site, publisher, placement, categories, fit. */
export function placeAssignment(
  a: Map<string, readonly string[]>,
  req: DecisionRequest,
  sp: ServingPlacement,
): Map<string, readonly string[]> {
  a.set('placement', [sp.id]);
  a.set('site', [sp.placement.siteId]);
  a.set('publisher', [sp.placement.publisherId]);
  a.set(FIT_ATTR, sp.fitKeys);
  const pageCats = req.categories ?? [];
  const cats =
    sp.siteCategories.length === 0
      ? pageCats
      : pageCats.length === 0
        ? sp.siteCategories
        : [...pageCats, ...sp.siteCategories];
  if (cats.length > 0) a.set('category', cats);
  else a.delete('category');
  return a;
}

/**
 * The same values as placeAssignment(requestAssignment(...)), for the keyed index's hot path: no
 * Map is built. The placement's own values and the time values are the same for many requests, so
 * the index interns them once per placement and once per 15-minute slot (see TimeValues).
 * `assignment` builds the Map on demand, for the rare residual line item whose tree is evaluated.
 */
export class RequestQuery {
  constructor(
    readonly request: DecisionRequest,
    readonly placement: ServingPlacement,
    /** Only the index's query path reads it (timeValues). */
    readonly time: TimeValues | undefined,
    readonly snapshot: ServingSnapshot,
    readonly nowMs: number,
    private built?: Map<string, readonly string[]>,
  ) {}
  assignment(): Map<string, readonly string[]> {
    this.built ??= placeAssignment(
      requestAssignment(this.request, this.snapshot, this.nowMs),
      this.request,
      this.placement,
    );
    return this.built;
  }
}

/** The hour and weekday values of the snapshot's targeting zones in one 15-minute slot (shared arrays). */
export interface TimeValues {
  readonly slot: number;
  readonly hours: readonly string[];
  readonly weekdays: readonly string[];
}

const SLOT_MS = 15 * 60_000;
const timeCache = new WeakMap<readonly ZoneClock[], TimeValues>();

/** The time values for `nowMs`, the same arrays for every request of the slot (the index caches their ids by identity). */
export function timeValues(snapshot: ServingSnapshot, nowMs: number): TimeValues {
  const zones = snapshot.targetingZones;
  const slot = Math.floor(nowMs / SLOT_MS);
  const hit = timeCache.get(zones);
  if (hit !== undefined && hit.slot === slot) return hit;
  const t: TimeValues = {
    slot,
    hours: zones.map((z) => z.hourKey(nowMs)),
    weekdays: zones.map((z) => z.weekdayKey(nowMs)),
  };
  timeCache.set(zones, t);
  return t;
}
