/** Metadata of uploaded assets (the bytes live in blob storage), deduplicated per advertiser by SHA-256. */
import type { Asset } from '@marquee/core';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { BadQueryError } from './errors.ts';
import type { AssetStore, Page } from './ports.ts';
import type { StoreContext } from './store-context.ts';

const CURSOR_SORT = 'assets:-id';

export class PostgresAssetStore implements AssetStore {
  readonly #ctx: StoreContext;
  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /**
   * Stores the asset's metadata. When the advertiser already has these bytes (same SHA-256), the stored
   * asset is returned instead (uploads are deduplicated); saving an existing id again replaces it.
   */
  async save(asset: Asset): Promise<Asset> {
    const inserted = await this.#ctx.db
      .insertInto('assets')
      .values({
        id: asset.id,
        advertiser_id: asset.advertiserId,
        sha256: asset.sha256,
        data: JSON.stringify(asset),
        created_at: asset.createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('data')
      .executeTakeFirst();
    if (inserted) return inserted.data as Asset;
    const existing = await this.findBySha(asset.advertiserId, asset.sha256);
    if (existing) return existing;
    await this.#ctx.db
      .updateTable('assets')
      .set({ advertiser_id: asset.advertiserId, sha256: asset.sha256, data: JSON.stringify(asset) })
      .where('id', '=', asset.id)
      .execute();
    return asset;
  }

  async get(id: string): Promise<Asset | undefined> {
    const row = await this.#ctx.db.selectFrom('assets').select('data').where('id', '=', id).executeTakeFirst();
    return row?.data as Asset | undefined;
  }

  async findBySha(advertiserId: string, sha256: string): Promise<Asset | undefined> {
    const row = await this.#ctx.db
      .selectFrom('assets')
      .select('data')
      .where('advertiser_id', '=', advertiserId)
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row?.data as Asset | undefined;
  }

  async list(advertiserId: string | null, limit: number, cursor?: string): Promise<Page<Asset>> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new BadQueryError('limit must be an integer from 1 to 500', 'limit');
    }
    const after = cursor ? decodeCursor(cursor, CURSOR_SORT) : undefined;
    let base = this.#ctx.db.selectFrom('assets');
    if (advertiserId !== null) base = base.where('advertiser_id', '=', advertiserId);
    let page = base.select(['id', 'data']);
    if (after) page = page.where('id', '<', after.id);
    const [rows, totalRow] = await Promise.all([
      page
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute(),
      base.select((eb) => eb.fn.countAll<string | number>().as('total')).executeTakeFirstOrThrow(),
    ]);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map((r) => r.data as Asset),
      nextCursor: rows.length > limit && last ? encodeCursor(CURSOR_SORT, { value: last.id, id: last.id }) : null,
      total: Number(totalRow.total),
    };
  }
}
