/**
 * Last-touch attribution memory: the last valid click and the last valid impression ("view") of each user
 * key per advertiser, and every valid click by its click id (the
 * decision id of the clicked ad, handed to the landing page as {click_id}). A conversion is attributed to the click named
 * by its click id, else to the user's last click within the click window, else to the last view within
 * the view window. Embedded it lives in memory and is rebuilt from the event log on start (the log is the
 * source of truth); entries older than the click window are swept.
 */
import type { TrackingEvent } from '@marquee/events';

/** What a conversion needs from the touch it is attributed to. */
export interface Touch {
  readonly tsMs: number;
  readonly decisionId: string;
  readonly lineItemId: string;
  readonly creativeId: string;
  readonly campaignId: string;
  readonly advertiserId: string;
  readonly publisherId: string;
  readonly siteId: string;
  readonly placementId: string;
  readonly country: string;
  readonly deviceType: string;
  readonly userKey: string;
  readonly pricingModel: 'cpm' | 'cpc' | 'cpa' | 'flat';
  readonly rateMicros: number;
  readonly currency: string;
}

export interface AttributionWindows {
  readonly clickMs: number;
  readonly viewMs: number;
}

export type Attribution = { readonly kind: 'click' | 'view'; readonly touch: Touch } | { readonly kind: 'none' };

interface UserTouches {
  click?: Touch;
  view?: Touch;
  lastMs: number;
}

export class AttributionIndex {
  private readonly byUser = new Map<string, UserTouches>();
  private readonly byClickId = new Map<string, Touch>();
  private nextSweepMs = 0;

  constructor(private readonly windows: AttributionWindows) {}

  get size(): { users: number; clicks: number } {
    return { users: this.byUser.size, clicks: this.byClickId.size };
  }

  /** Remembers a valid impression or click (other events are ignored). */
  record(event: TrackingEvent): void {
    if (event.verdict !== 'valid' || (event.kind !== 'impression' && event.kind !== 'click')) return;
    const touch = touchOf(event);
    // The click id handed to advertisers ({click_id} in the landing URL) is the decision id of the clicked ad.
    if (event.kind === 'click') this.byClickId.set(event.decisionId, touch);
    if (!event.userKey) return;
    const key = `${event.advertiserId}\u0000${event.userKey}`;
    let t = this.byUser.get(key);
    if (!t) {
      t = { lastMs: 0 };
      this.byUser.set(key, t);
    }
    if (event.kind === 'click') {
      if (!t.click || t.click.tsMs <= touch.tsMs) t.click = touch;
    } else if (!t.view || t.view.tsMs <= touch.tsMs) t.view = touch;
    if (touch.tsMs > t.lastMs) t.lastMs = touch.tsMs;
  }

  /** The touch a conversion at `nowMs` of this advertiser is attributed to. */
  attribute(advertiserId: string, userKey: string, clickId: string, nowMs: number): Attribution {
    this.sweep(nowMs);
    if (clickId) {
      const c = this.byClickId.get(clickId);
      if (c && c.advertiserId === advertiserId && nowMs - c.tsMs <= this.windows.clickMs)
        return { kind: 'click', touch: c };
    }
    if (!userKey) return { kind: 'none' };
    const t = this.byUser.get(`${advertiserId}\u0000${userKey}`);
    if (!t) return { kind: 'none' };
    if (t.click && nowMs - t.click.tsMs <= this.windows.clickMs) return { kind: 'click', touch: t.click };
    if (t.view && nowMs - t.view.tsMs <= this.windows.viewMs) return { kind: 'view', touch: t.view };
    return { kind: 'none' };
  }

  /** Drops touches older than both windows (at most once a minute). */
  sweep(nowMs: number): void {
    if (nowMs < this.nextSweepMs) return;
    this.nextSweepMs = nowMs + 60_000;
    const horizon = nowMs - Math.max(this.windows.clickMs, this.windows.viewMs);
    for (const [k, t] of this.byUser) if (t.lastMs < horizon) this.byUser.delete(k);
    for (const [k, c] of this.byClickId) if (c.tsMs < nowMs - this.windows.clickMs) this.byClickId.delete(k);
  }
}

function touchOf(e: TrackingEvent): Touch {
  return {
    tsMs: e.tsMs,
    decisionId: e.decisionId,
    lineItemId: e.lineItemId,
    creativeId: e.creativeId,
    campaignId: e.campaignId,
    advertiserId: e.advertiserId,
    publisherId: e.publisherId,
    siteId: e.siteId,
    placementId: e.placementId,
    country: e.country,
    deviceType: e.deviceType,
    userKey: e.userKey,
    pricingModel: e.pricingModel ?? 'cpm',
    rateMicros: e.rateMicros ?? 0,
    currency: e.currency ?? '',
  };
}
