/** The network's one settings row; updates are audited and go to the change feed like entities. */
import type { Network } from '@marquee/core';
import type { Actor, NetworkSettings } from './ports.ts';
import type { StoreContext } from './store-context.ts';
import { writeTransaction } from './write-transaction.ts';

export class PostgresNetworkSettings implements NetworkSettings {
  readonly #ctx: StoreContext;
  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async get(): Promise<Network> {
    const row = await this.#ctx.db
      .selectFrom('network')
      .select(['name', 'currency', 'time_zone'])
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return { name: row.name, currency: row.currency, timeZone: row.time_zone };
  }

  async update(network: Network, actor: Actor): Promise<Network> {
    return writeTransaction(this.#ctx, async (trx, record) => {
      const row = await trx
        .selectFrom('network')
        .select(['name', 'currency', 'time_zone'])
        .where('id', '=', 1)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const before: Network = { name: row.name, currency: row.currency, timeZone: row.time_zone };
      const after: Network = { name: network.name, currency: network.currency, timeZone: network.timeZone };
      await trx
        .updateTable('network')
        .set((eb) => ({
          name: after.name,
          currency: after.currency,
          time_zone: after.timeZone,
          version: eb('version', '+', 1),
          updated_at: new Date(),
        }))
        .where('id', '=', 1)
        .execute();
      record.change({ kind: 'network', id: 'network', op: 'update', entity: after });
      record.audit({
        actor,
        action: 'update',
        kind: 'network',
        entityId: 'network',
        before,
        after,
        advertiserId: null,
        publisherId: null,
      });
      return after;
    });
  }
}
