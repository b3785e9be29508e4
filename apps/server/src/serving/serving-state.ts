/**
 * Keeps the serving snapshot current: loads a consistent snapshot from the store, then follows the change
 * feed and swaps in a new immutable snapshot built off the request path. Requests read `current` and never
 * touch the database; if the database goes away, the feed retries quietly and serving goes on from the last
 * snapshot.
 */
import {
  buildServingSnapshot,
  MAX_DELTA_ITEMS,
  type RatePredictor,
  rebuildSteps,
  runInSlices,
  type ServingSnapshot,
  updateSteps,
} from '@marquee/decision';
import type { AssetStore, Change, ChangeFeed } from '@marquee/store';
import type { FastifyBaseLogger } from 'fastify';

export interface ServingState {
  /** The snapshot requests read; replaced whole, never mutated. */
  readonly current: ServingSnapshot;
  /** Absolute URL of an uploaded asset used by a creative in the snapshot (resolved before the swap). */
  assetUrl(assetId: string): string | undefined;
  /** Resolves once every change up to `seq` is live (tests, and "a change is live within a second"). */
  waitFor(seq: number, timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

export interface ServingStateOptions {
  readonly feed: ChangeFeed;
  readonly assets: AssetStore;
  /** Base of asset URLs (asset rows hold paths such as /assets/<sha256>.png). */
  readonly publicUrl: string;
  readonly logger: FastifyBaseLogger;
  readonly now?: () => number;
  /**
   * Changes arriving within this window are applied together: one rebuild for a burst of edits
   * (bulk status changes, imports) instead of one per change.
   */
  readonly coalesceMs?: number;
  /** Line items the delta layer may hold before an update takes a full rebuild (default MAX_DELTA_ITEMS; tests lower it). */
  readonly maxDeltaItems?: number;
  /** Delta-layer size at which a background compaction starts (default a quarter of maxDeltaItems). */
  readonly compactAt?: number;
  /**
   * The predicted click and conversion rates decide() ranks CPC and CPA line items with (the snapshot's
   * predictor: its ceilings order the index; default the package's fixed priors).
   */
  readonly predictor?: RatePredictor;
}

/**
 * Longest synchronous stretch of a sliced update or rebuild (a step can overrun it by one step's work, a
 * millisecond or two, or by a garbage collection). Was 10 ms: a request arriving during a slice waits for it.
 */
const SLICE_MS = 4;

/** A compaction: a full rebuild started at t0; the changes applied since; its result once built. */
interface Compaction {
  readonly since: Change[];
  readonly t0: number;
  fresh?: ServingSnapshot;
}

export async function createServingState(options: ServingStateOptions): Promise<ServingState> {
  const now = options.now ?? Date.now;
  const coalesceMs = options.coalesceMs ?? 100;
  const maxDelta = options.maxDeltaItems ?? MAX_DELTA_ITEMS;
  const compactAt = options.compactAt ?? maxDelta / 4;
  const started = performance.now();
  const initial = await options.feed.loadSnapshot();
  const assetUrls = new Map<string, string>();
  const resolveAssets = async (creatives: Iterable<unknown>) => {
    for (const c of creatives) {
      const assetId = (c as { assetId?: string }).assetId;
      if (!assetId || assetUrls.has(assetId)) continue;
      const asset = await options.assets.get(assetId);
      if (asset) assetUrls.set(assetId, asset.url.startsWith('/') ? `${options.publicUrl}${asset.url}` : asset.url);
    }
  };
  await resolveAssets(initial.entities.creative);
  let current = buildServingSnapshot(initial, { nowMs: now(), predictor: options.predictor });
  options.logger.info(
    { seq: current.seq, lineItems: current.lineItems.length, ms: Math.round(performance.now() - started) },
    'serving snapshot loaded',
  );

  let pending: Change[] = [];
  let timer: NodeJS.Timeout | undefined;
  const waiters = new Set<{ seq: number; resolve: (ok: boolean) => void }>();

  let flushing = false;
  let stopped = false;
  // An update is incremental (updateSteps: in proportion to the change), run in slices of SLICE_MS like
  // everything below (runInSlices: a single change is one slice; a merge of the delta index's levels or a
  // bulk change of hundreds of line items spreads over several, requests served between them). A change too
  // large for the delta layer, and the periodic compaction of that layer, are full rebuilds, sliced the same
  // way. The next update still waits a few times as long as the last synchronous stretch took (at most a
  // second), so a stream of edits cannot starve requests.
  let lastRebuildMs = 0;
  // The compaction in progress: a full rebuild in slices while updates go on incrementally; the changes
  // applied meanwhile (`since`) are replayed on its result (`fresh`) by the next flush, so that `current`
  // only ever changes inside a flush (one at a time). A large rebuild cancels it.
  let compaction: Compaction | undefined;
  const compact = () => {
    if (compaction || stopped) return;
    const job: Compaction = { since: [], t0: performance.now() };
    compaction = job;
    runInSlices(rebuildSteps(current, [], now()), SLICE_MS).then(
      (fresh) => {
        if (compaction !== job || stopped) return;
        job.fresh = fresh;
        timer ??= setTimeout(flush, 0);
      },
      (err) => {
        if (compaction === job) compaction = undefined;
        options.logger.error({ err }, 'serving snapshot compaction failed');
      },
    );
  };
  /** The longest slice of stepped work, recorded for the pacing of the next update. */
  const sliced = async <T>(steps: Generator<void, T, void>): Promise<T> => {
    let longest = 0;
    const value = await runInSlices(steps, SLICE_MS, (ms) => {
      longest = Math.max(longest, ms);
    });
    lastRebuildMs = longest;
    return value;
  };
  /** Swaps in a finished compaction, with the changes applied since it started replayed on it (sliced). */
  const installCompaction = async () => {
    const job = compaction;
    if (!job?.fresh) return;
    compaction = undefined;
    const next = await sliced(updateSteps(job.fresh, job.since, now(), maxDelta));
    // Undefined: what changed meanwhile does not fit a delta layer; `current` (complete) stays, and the
    // check below starts another compaction from it.
    if (next) current = next;
    options.logger.debug(
      { seq: current.seq, lineItems: current.lineItems.length, ms: Math.round(performance.now() - job.t0) },
      'serving snapshot compacted',
    );
  };
  const nextDelay = () => Math.min(1000, Math.max(coalesceMs, 4 * lastRebuildMs));
  const flush = async () => {
    timer = undefined;
    if (flushing || stopped) return;
    const batch = pending;
    pending = [];
    if (batch.length === 0 && !compaction?.fresh) return;
    flushing = true;
    const t0 = performance.now();
    try {
      await installCompaction();
      // The replay may have filled the new delta layer already.
      if (current.lineItems.length - current.layers.baseItems > compactAt) compact();
    } catch (err) {
      options.logger.error({ err }, 'serving snapshot compaction failed');
    }
    if (batch.length === 0) {
      flushing = false;
      if (pending.length > 0) timer ??= setTimeout(flush, nextDelay());
      return;
    }
    try {
      await resolveAssets(batch.filter((c) => c.kind === 'creative').map((c) => c.entity));
    } catch (err) {
      // The store is away: keep the batch, retry later; serving goes on from the current snapshot.
      options.logger.warn({ err }, 'serving snapshot update waits for the store');
      pending = batch.concat(pending);
      flushing = false;
      timer ??= setTimeout(flush, 1000);
      return;
    }
    try {
      const next = await sliced(updateSteps(current, batch, now(), maxDelta));
      if (next) {
        current = next;
        compaction?.since.push(...batch);
        if (current.lineItems.length - current.layers.baseItems > compactAt) compact();
      } else {
        // Too large for the delta layer: rebuild in slices; serving goes on from the current snapshot.
        compaction = undefined;
        current = await sliced(rebuildSteps(current, batch, now()));
      }
    } catch (err) {
      // A change the serving side cannot apply must not stop serving: keep the last good snapshot.
      options.logger.error({ err, seq: batch[batch.length - 1]?.seq }, 'serving snapshot update failed');
      return;
    } finally {
      flushing = false;
      if (pending.length > 0 || compaction?.fresh) timer ??= setTimeout(flush, nextDelay());
    }
    options.logger.debug(
      { seq: current.seq, changes: batch.length, ms: Math.round(performance.now() - t0) },
      'serving snapshot updated',
    );
    for (const w of waiters) {
      if (current.seq >= w.seq) {
        waiters.delete(w);
        w.resolve(true);
      }
    }
  };

  const stopFollowing = options.feed.follow(current.seq, (changes) => {
    pending.push(...changes);
    timer ??= setTimeout(flush, nextDelay());
  });

  return {
    get current() {
      return current;
    },
    assetUrl: (assetId) => assetUrls.get(assetId),
    waitFor(seq, timeoutMs = 5000) {
      if (current.seq >= seq) return Promise.resolve(true);
      return new Promise((resolve) => {
        const w = { seq, resolve };
        waiters.add(w);
        setTimeout(() => {
          if (waiters.delete(w)) resolve(false);
        }, timeoutMs).unref();
      });
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await stopFollowing();
      for (const w of waiters) w.resolve(false);
      waiters.clear();
    },
  };
}
