/**
 * The change feed over the `changes` table. Seqs become visible in commit order (see the advisory lock
 * in write-transaction.ts), so "everything with seq > last delivered" never skips a change.
 */
import type { Network } from '@marquee/core';
import { DESCRIPTORS, ENTITY_KINDS } from './entity-descriptors.ts';
import type { Change, ChangeFeed, EntityKind, Snapshot } from './ports.ts';
import type { PostgresNotifyListener } from './postgres-notify-listener.ts';
import type { StoreContext } from './store-context.ts';

/** Safety-net poll: a lost wake-up (dropped LISTEN connection, another process on PGlite) costs at most this. */
export const FEED_POLL_MS = 500;
const FEED_BATCH = 1000;
const MAX_BACKOFF_MS = 5000;

export class PostgresChangeFeed implements ChangeFeed {
  readonly #ctx: StoreContext;
  readonly #listener: PostgresNotifyListener | undefined;
  readonly #stops = new Set<() => Promise<void>>();

  constructor(ctx: StoreContext, listener?: PostgresNotifyListener) {
    this.#ctx = ctx;
    this.#listener = listener;
  }

  async loadSnapshot(): Promise<Snapshot> {
    // REPEATABLE READ: every query below sees the same database state, so `seq` is exactly the
    // position the entities reflect.
    return this.#ctx.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const seqRow = await trx
          .selectFrom('changes')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirst();
        const net = await trx
          .selectFrom('network')
          .select(['name', 'currency', 'time_zone'])
          .where('id', '=', 1)
          .executeTakeFirstOrThrow();
        const entities = {} as Record<EntityKind, unknown[]>;
        for (const kind of ENTITY_KINDS) {
          const rows = await trx.selectFrom(DESCRIPTORS[kind].table).select('data').orderBy('id').execute();
          entities[kind] = rows.map((r) => r.data);
        }
        const network: Network = { name: net.name, currency: net.currency, timeZone: net.time_zone };
        return { seq: Number(seqRow?.seq ?? 0), network, entities } as unknown as Snapshot;
      });
  }

  async readSince(after: number, limit: number = FEED_BATCH): Promise<Change[]> {
    const rows = await this.#ctx.db
      .selectFrom('changes')
      .select(['seq', 'kind', 'entity_id', 'op', 'entity', 'at'])
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(Math.max(1, Math.min(limit, 10_000)))
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      kind: r.kind as Change['kind'],
      id: r.entity_id,
      op: r.op as Change['op'],
      entity: r.entity,
      at: r.at.toISOString(),
    }));
  }

  /**
   * Delivers batches in seq order, one at a time (the next batch waits for the callback's promise).
   * A batch whose callback throws is offered again after a pause (at-least-once for failing callbacks);
   * a database error is retried quietly with backoff, and following resumes when it comes back.
   */
  follow(after: number, onChanges: (changes: Change[]) => void | Promise<void>): () => Promise<void> {
    let position = after;
    let stopped = false;
    let pending = false;
    let interrupt: (() => void) | undefined;
    const wake = () => {
      pending = true;
      interrupt?.();
    };
    this.#ctx.events.on('committed', wake);
    const unlisten = this.#listener?.subscribe(wake);

    const loop = (async () => {
      let failures = 0;
      while (!stopped) {
        pending = false;
        let delay = FEED_POLL_MS;
        try {
          const batch = await this.readSince(position, FEED_BATCH);
          if (batch.length > 0 && !stopped) {
            await onChanges(batch);
            position = batch[batch.length - 1]!.seq;
            if (batch.length === FEED_BATCH) continue;
          }
          failures = 0;
        } catch {
          failures++;
          delay = Math.min(FEED_POLL_MS * 2 ** (failures - 1), MAX_BACKOFF_MS);
        }
        if (stopped || (pending && failures === 0)) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          timer.unref();
          interrupt = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        interrupt = undefined;
      }
    })();

    const stop = async () => {
      if (stopped) return loop;
      stopped = true;
      interrupt?.();
      this.#ctx.events.off('committed', wake);
      this.#stops.delete(stop);
      await unlisten?.();
      await loop;
    };
    this.#stops.add(stop);
    return stop;
  }

  /** Stops every follower (store close). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#stops].map((stop) => stop()));
  }
}
