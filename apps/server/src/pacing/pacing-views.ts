/**
 * The pacing controller's view of each line item (rate, spend today against the day's plan,
 * on_track / behind / ahead), published by the serving side for the delivery report. Keyed by the
 * app's deps so the route module, registered before serving, finds it at request time.
 */
import type { LineItemPacing } from '@marquee/pacing';

export type PacingViews = (lineItemId: string) => LineItemPacing | undefined;

const published = new WeakMap<object, PacingViews>();

export function publishPacingViews(deps: object, views: PacingViews): void {
  published.set(deps, views);
}

/** The views of this app's serving side; none when it has no serving side (or has not started it). */
export function pacingViewsOf(deps: object): PacingViews {
  return published.get(deps) ?? (() => undefined);
}
