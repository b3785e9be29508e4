/**
 * The one contract suite every Store backend passes (pglite.test.ts, postgres.test.ts).
 * Tests share one store per backend and isolate themselves by creating their own tenants and
 * unique names, so they also hold on a PostgreSQL schema other writers use.
 */
import { randomBytes } from 'node:crypto';
import type { LineItem } from '@marquee/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadCursorError, BadQueryError } from './errors.ts';
import { fixtures } from './fixtures.ts';
import { type Actor, ALL, type Change, type Scope, type Store, type WriteResult } from './ports.ts';

export interface ContractOptions {
  /** open() after close() returns the same data (PGlite on a directory, PostgreSQL). */
  readonly persistent?: boolean;
  /** Two open() stores may be open at once on the same data (PostgreSQL). */
  readonly sharedInstances?: boolean;
}

const actor: Actor = { userId: null, label: 'contract-test', requestId: 'req-1' };
const tag = () => randomBytes(4).toString('hex');
const tenant = (advertiserIds: string[], publisherIds: string[] = []): Scope => ({
  kind: 'tenant',
  advertiserIds,
  publisherIds,
});

function ok<T>(result: WriteResult<T>): T {
  if (result.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.entity;
}

/** Polls until `check` passes (no wall-clock assertions: the timeout only bounds a broken run). */
async function eventually(check: () => void | Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function describeStoreContract(name: string, open: () => Promise<Store>, options: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    async function advertiserWithCampaign() {
      const adv = ok(await store.repos.advertiser.create(fixtures.advertiser({ name: `adv ${tag()}` }), actor));
      const cmp = ok(await store.repos.campaign.create(fixtures.campaign(adv.id), actor));
      return { adv, cmp };
    }

    it('starts empty, pings, and has the default network', async () => {
      expect(await store.isEmpty()).toBe(true);
      expect(await store.ping()).toBe(true);
      expect(await store.network.get()).toEqual({ name: 'Marquee Network', currency: 'USD', timeZone: 'UTC' });
      ok(await store.repos.user.create(fixtures.user(`first-${tag()}@example.com`), actor));
      expect(await store.isEmpty()).toBe(false);
    });

    it('creates with a generated prefixed id, version 1 and timestamps; honours a given id', async () => {
      const adv = ok(await store.repos.advertiser.create(fixtures.advertiser({ name: 'Acme' }), actor));
      expect(adv.id).toMatch(/^adv_[0-9a-z]{26}$/);
      expect(adv.version).toBe(1);
      expect(adv.createdAt).toBe(adv.updatedAt);
      expect(Number.isNaN(Date.parse(adv.createdAt))).toBe(false);
      expect(await store.repos.advertiser.get(adv.id, ALL)).toEqual(adv);

      const id = `adv_given${tag()}`;
      const given = ok(await store.repos.advertiser.create({ ...fixtures.advertiser(), id }, actor));
      expect(given.id).toBe(id);
      expect(await store.repos.advertiser.get('adv_doesnotexist', ALL)).toBeUndefined();
      const many = await store.repos.advertiser.getMany([id, 'adv_missing', adv.id], ALL);
      expect(many.map((a) => a.id)).toEqual([id, adv.id]);
      expect(await store.repos.advertiser.getMany([], ALL)).toEqual([]);
    });

    it('stores every entity kind and its promoted columns filter lists', async () => {
      const { adv, cmp } = await advertiserWithCampaign();
      const li = ok(
        await store.repos.lineItem.create(fixtures.lineItem(adv.id, cmp.id, { priority: 'sponsorship' }), actor),
      );
      const cr = ok(
        await store.repos.creative.create(fixtures.creative(adv.id, { kind: 'html', html: '<b>x</b>' }), actor),
      );
      const pub = ok(await store.repos.publisher.create(fixtures.publisher({ name: `pub ${tag()}` }), actor));
      const site = ok(await store.repos.site.create(fixtures.site(pub.id, { kind: 'app' }), actor));
      const plc = ok(await store.repos.placement.create(fixtures.placement(pub.id, site.id), actor));
      const aud = ok(await store.repos.audience.create(fixtures.audience(adv.id, `k${tag()}`), actor));
      const usr = ok(
        await store.repos.user.create(fixtures.user(`u-${tag()}@example.com`, { role: 'advertiser' }), actor),
      );
      for (const [repo, entity] of [
        [store.repos.lineItem, li],
        [store.repos.creative, cr],
        [store.repos.site, site],
        [store.repos.placement, plc],
        [store.repos.audience, aud],
        [store.repos.user, usr],
      ] as const) {
        expect(await (repo as typeof store.repos.lineItem).get(entity.id, ALL)).toEqual(entity);
      }
      const byCampaign = await store.repos.lineItem.list({ filters: { campaignId: cmp.id } }, ALL);
      expect(byCampaign.items.map((x) => x.id)).toEqual([li.id]);
      const byPriority = await store.repos.lineItem.list(
        { filters: { advertiserId: adv.id, priority: ['sponsorship', 'house'] } },
        ALL,
      );
      expect(byPriority.total).toBe(1);
      const none = await store.repos.lineItem.list({ filters: { advertiserId: adv.id, priority: 'house' } }, ALL);
      expect(none).toEqual({ items: [], nextCursor: null, total: 0 });
      expect(
        (await store.repos.creative.list({ filters: { advertiserId: adv.id, kind: 'html' } }, ALL)).items,
      ).toHaveLength(1);
      expect((await store.repos.site.list({ filters: { publisherId: pub.id, kind: 'app' } }, ALL)).total).toBe(1);
      expect((await store.repos.placement.list({ filters: { siteId: site.id } }, ALL)).items[0]).toEqual(plc);
      expect((await store.repos.user.list({ filters: { role: 'advertiser' }, search: usr.email }, ALL)).total).toBe(1);
      expect((await store.repos.lineItem.list({ filters: { advertiserId: [] } }, ALL)).total).toBe(0);
    });

    it('updates with optimistic concurrency: version+1, stale version -> conflict, unknown -> not_found', async () => {
      const adv = ok(await store.repos.advertiser.create(fixtures.advertiser({ name: 'Before' }), actor));
      const updated = ok(
        await store.repos.advertiser.update(adv.id, 1, fixtures.advertiser({ name: 'After' }), ALL, actor),
      );
      expect(updated).toMatchObject({ id: adv.id, name: 'After', version: 2, createdAt: adv.createdAt });
      expect(updated.updatedAt >= adv.updatedAt).toBe(true);
      const stale = await store.repos.advertiser.update(adv.id, 1, fixtures.advertiser({ name: 'Lost' }), ALL, actor);
      expect(stale).toEqual({ kind: 'conflict', current: updated });
      expect(await store.repos.advertiser.get(adv.id, ALL)).toEqual(updated);
      const missing = await store.repos.advertiser.update('adv_nope', 1, fixtures.advertiser(), ALL, actor);
      expect(missing).toEqual({ kind: 'not_found' });
    });

    it('lets exactly one of several concurrent updates of one version win', async () => {
      const adv = ok(await store.repos.advertiser.create(fixtures.advertiser(), actor));
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.repos.advertiser.update(adv.id, 1, fixtures.advertiser({ name: `racer ${i}` }), ALL, actor),
        ),
      );
      expect(results.filter((r) => r.kind === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'conflict')).toHaveLength(7);
      expect((await store.repos.advertiser.get(adv.id, ALL))?.version).toBe(2);
    });

    it('reports unique violations as duplicate with the field', async () => {
      const adv = ok(await store.repos.advertiser.create(fixtures.advertiser(), actor));
      expect(await store.repos.advertiser.create({ ...fixtures.advertiser(), id: adv.id }, actor)).toEqual({
        kind: 'duplicate',
        field: 'id',
      });
      const email = `Dup-${tag()}@Example.com`;
      ok(await store.repos.user.create(fixtures.user(email), actor));
      expect(await store.repos.user.create(fixtures.user(email.toLowerCase()), actor)).toEqual({
        kind: 'duplicate',
        field: 'email',
      });
      const other = ok(await store.repos.user.create(fixtures.user(`other-${tag()}@example.com`), actor));
      expect(await store.repos.user.update(other.id, 1, fixtures.user(email.toUpperCase()), ALL, actor)).toEqual({
        kind: 'duplicate',
        field: 'email',
      });

      const key = `seg-${tag()}`;
      const b = ok(await store.repos.advertiser.create(fixtures.advertiser(), actor));
      ok(await store.repos.audience.create(fixtures.audience(adv.id, key), actor));
      ok(await store.repos.audience.create(fixtures.audience(b.id, key), actor)); // other advertiser: fine
      ok(await store.repos.audience.create(fixtures.audience(null, key), actor)); // network-wide: fine
      expect(await store.repos.audience.create(fixtures.audience(adv.id, key), actor)).toEqual({
        kind: 'duplicate',
        field: 'key',
      });
      expect(await store.repos.audience.create(fixtures.audience(null, key), actor)).toEqual({
        kind: 'duplicate',
        field: 'key',
      });
    });

    it('sets status in bulk, hides archived rows unless asked, and rejects unknown statuses', async () => {
      const { adv, cmp } = await advertiserWithCampaign();
      const created = ok(
        await store.repos.lineItem.createMany(
          [1, 2, 3].map((i) => fixtures.lineItem(adv.id, cmp.id, { name: `bulk ${i}` })),
          actor,
        ),
      );
      const [a, b, c] = created as [LineItem, LineItem, LineItem];
      const changed = await store.repos.lineItem.setStatus([a.id, b.id, 'li_missing'], 'archived', ALL, actor);
      expect(changed.map((x) => [x.id, x.status, x.version]).sort()).toEqual(
        [
          [a.id, 'archived', 2],
          [b.id, 'archived', 2],
        ].sort(),
      );
      // Already archived: nothing changes.
      expect(await store.repos.lineItem.setStatus([a.id], 'archived', ALL, actor)).toEqual([]);
      const visible = await store.repos.lineItem.list({ filters: { advertiserId: adv.id } }, ALL);
      expect(visible.items.map((x) => x.id)).toEqual([c.id]);
      expect(visible.total).toBe(1);
      const everything = await store.repos.lineItem.list(
        { filters: { advertiserId: adv.id }, includeArchived: true },
        ALL,
      );
      expect(everything.total).toBe(3);
      const archived = await store.repos.lineItem.list({ filters: { advertiserId: adv.id, status: 'archived' } }, ALL);
      expect(archived.items.map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
      expect(await store.repos.lineItem.get(a.id, ALL)).toMatchObject({ status: 'archived', version: 2 });
      await expect(store.repos.lineItem.setStatus([c.id], 'deleted', ALL, actor)).rejects.toBeInstanceOf(BadQueryError);
      await expect(store.repos.user.setStatus([c.id], 'paused', ALL, actor)).rejects.toBeInstanceOf(BadQueryError);
    });

    it('searches names case-insensitively (emails for users), treating % and _ literally', async () => {
      const t = tag();
      await store.repos.publisher.createMany(
        [`Sport ${t} News`, `sports ${t} daily`, `Weather ${t}`, `100% ${t} sport`].map((name) =>
          fixtures.publisher({ name }),
        ),
        actor,
      );
      const sport = await store.repos.publisher.list({ search: `SPORT` }, ALL);
      expect(sport.items.filter((p) => p.name.includes(t))).toHaveLength(3);
      const exact = await store.repos.publisher.list({ search: `ts ${t} d` }, ALL);
      expect(exact.items.map((p) => p.name)).toEqual([`sports ${t} daily`]);
      const percent = await store.repos.publisher.list({ search: `100% ${t}` }, ALL);
      expect(percent.total).toBe(1);
      const underscore = await store.repos.publisher.list({ search: `Sport_${t}` }, ALL);
      expect(underscore.total).toBe(0);
      const email = `Finder-${t}@Example.org`;
      ok(await store.repos.user.create(fixtures.user(email, { name: 'Nobody' }), actor));
      const users = await store.repos.user.list({ search: `finder-${t}@example` }, ALL);
      expect(users.items.map((u) => u.email)).toEqual([email]);
    });

    it('rejects unknown filters, sorts and bad limits with BadQueryError', async () => {
      const repo = store.repos.lineItem;
      await expect(repo.list({ filters: { colour: 'red' } }, ALL)).rejects.toBeInstanceOf(BadQueryError);
      await expect(repo.list({ filters: { role: 'admin' } }, ALL)).rejects.toBeInstanceOf(BadQueryError);
      await expect(repo.list({ sort: 'rateMicros' }, ALL)).rejects.toBeInstanceOf(BadQueryError);
      for (const limit of [0, 501, 2.5, Number.NaN]) {
        await expect(repo.list({ limit }, ALL)).rejects.toBeInstanceOf(BadQueryError);
      }
      await expect(repo.list({ filters: { status: [1] as unknown as string[] } }, ALL)).rejects.toBeInstanceOf(
        BadQueryError,
      );
    });

    it('walks every row exactly once with keyset pages in every sort order, ties included', async () => {
      const { adv, cmp } = await advertiserWithCampaign();
      // 5 distinct names and statuses over 23 rows: many ties; one createMany gives one createdAt for all.
      const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
      const statuses = ['active', 'paused', 'draft'] as const;
      const created = ok(
        await store.repos.lineItem.createMany(
          Array.from({ length: 23 }, (_, i) =>
            fixtures.lineItem(adv.id, cmp.id, { name: names[i % 5]!, status: statuses[i % 3]! }),
          ),
          actor,
        ),
      );
      // Touch some rows so updatedAt differs.
      for (const li of created.slice(0, 6)) {
        ok(
          await store.repos.lineItem.update(
            li.id,
            1,
            { ...fixtures.lineItem(adv.id, cmp.id), name: li.name },
            ALL,
            actor,
          ),
        );
      }
      const ids = created.map((x) => x.id).sort();
      const fieldOf: Record<string, (li: LineItem) => string> = {
        id: (li) => li.id,
        name: (li) => li.name,
        createdAt: (li) => li.createdAt,
        updatedAt: (li) => li.updatedAt,
        status: (li) => li.status,
      };
      for (const field of Object.keys(fieldOf)) {
        for (const sort of [field, `-${field}`]) {
          const seen: LineItem[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await store.repos.lineItem.list(
              { filters: { advertiserId: adv.id }, sort, limit: 4, ...(cursor ? { cursor } : {}) },
              ALL,
            );
            expect(page.total).toBe(23);
            expect(page.items.length).toBeLessThanOrEqual(4);
            seen.push(...page.items);
            cursor = page.nextCursor ?? undefined;
            pages++;
          } while (cursor && pages < 50);
          expect(pages).toBe(6);
          expect(seen.map((x) => x.id).sort()).toEqual(ids);
          // Ordered by (field, id) in the requested direction.
          const key = fieldOf[field]!;
          const dir = sort.startsWith('-') ? -1 : 1;
          for (let i = 1; i < seen.length; i++) {
            const [p, q] = [seen[i - 1]!, seen[i]!];
            const cmp = key(p) === key(q) ? (p.id < q.id ? -1 : 1) : key(p) < key(q) ? -1 : 1;
            expect(cmp * dir, `${sort} at ${i}`).toBe(-1);
          }
        }
      }
    });

    it('counts the total for the first page and carries it in the cursor to the next ones', async () => {
      const adv = ok(await store.repos.advertiser.create(fixtures.advertiser(), actor));
      for (let i = 0; i < 3; i++) ok(await store.repos.campaign.create(fixtures.campaign(adv.id), actor));
      const first = await store.repos.campaign.list({ filters: { advertiserId: adv.id }, limit: 2 }, ALL);
      expect(first.total).toBe(3);
      ok(await store.repos.campaign.create(fixtures.campaign(adv.id), actor));
      const second = await store.repos.campaign.list(
        { filters: { advertiserId: adv.id }, limit: 2, cursor: first.nextCursor! },
        ALL,
      );
      // The page itself is current (the new row is there); the total is the first page's count.
      expect(second.items).toHaveLength(2);
      expect(second.total).toBe(3);
      expect((await store.repos.campaign.list({ filters: { advertiserId: adv.id } }, ALL)).total).toBe(4);
      // A cursor whose total was tampered with into a non-count is refused like any other bad cursor.
      const [sort, value, id] = JSON.parse(Buffer.from(first.nextCursor!, 'base64url').toString('utf8'));
      const forged = Buffer.from(JSON.stringify([sort, value, id, -1])).toString('base64url');
      await expect(
        store.repos.campaign.list({ filters: { advertiserId: adv.id }, cursor: forged }, ALL),
      ).rejects.toThrow();
    });

    it('rejects malformed, tampered and foreign cursors with BadCursorError', async () => {
      const { adv, cmp } = await advertiserWithCampaign();
      await store.repos.lineItem.createMany(
        [1, 2, 3].map(() => fixtures.lineItem(adv.id, cmp.id)),
        actor,
      );
      const page = await store.repos.lineItem.list({ filters: { advertiserId: adv.id }, limit: 1, sort: 'name' }, ALL);
      expect(page.nextCursor).not.toBeNull();
      const bad = [
        'not a cursor!',
        'eyJ4Ijox',
        Buffer.from('{"a":1}').toString('base64url'),
        Buffer.from('["name",{"x":1},"li_x"]').toString('base64url'),
      ];
      for (const cursor of bad) {
        await expect(store.repos.lineItem.list({ cursor, sort: 'name' }, ALL)).rejects.toBeInstanceOf(BadCursorError);
      }
      // A cursor of one sort order is refused by another.
      await expect(store.repos.lineItem.list({ cursor: page.nextCursor!, sort: '-name' }, ALL)).rejects.toBeInstanceOf(
        BadCursorError,
      );
      const err = await store.repos.lineItem.list({ cursor: 'x!', sort: 'id' }, ALL).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'MQ_ERR_BAD_CURSOR' });
    });

    it('confines tenant scopes to their own advertisers and publishers', async () => {
      const mine = await advertiserWithCampaign();
      const theirs = await advertiserWithCampaign();
      const scope = tenant([mine.adv.id]);
      const myLi = ok(await store.repos.lineItem.create(fixtures.lineItem(mine.adv.id, mine.cmp.id), actor));
      const theirLi = ok(await store.repos.lineItem.create(fixtures.lineItem(theirs.adv.id, theirs.cmp.id), actor));
      const pub = ok(await store.repos.publisher.create(fixtures.publisher(), actor));

      expect(await store.repos.advertiser.get(mine.adv.id, scope)).toEqual(mine.adv);
      expect(await store.repos.advertiser.get(theirs.adv.id, scope)).toBeUndefined();
      expect(await store.repos.lineItem.get(theirLi.id, scope)).toBeUndefined();
      expect(await store.repos.lineItem.getMany([myLi.id, theirLi.id], scope)).toEqual([myLi]);
      const advertisers = await store.repos.advertiser.list({}, scope);
      expect(advertisers.items.map((a) => a.id)).toEqual([mine.adv.id]);
      expect(advertisers.total).toBe(1);
      const lineItems = await store.repos.lineItem.list({ limit: 500 }, scope);
      expect(lineItems.items.map((l) => l.id)).toEqual([myLi.id]);
      // Filtering on another tenant does not widen the scope.
      expect((await store.repos.lineItem.list({ filters: { advertiserId: theirs.adv.id } }, scope)).total).toBe(0);
      // Other side and users are invisible.
      expect(await store.repos.publisher.get(pub.id, scope)).toBeUndefined();
      expect((await store.repos.publisher.list({}, scope)).total).toBe(0);
      expect((await store.repos.user.list({}, scope)).total).toBe(0);
      expect((await store.repos.lineItem.list({}, tenant([]))).total).toBe(0);

      // Writes outside the scope look like missing rows.
      expect(
        await store.repos.lineItem.update(theirLi.id, 1, fixtures.lineItem(theirs.adv.id, theirs.cmp.id), scope, actor),
      ).toEqual({ kind: 'not_found' });
      expect(await store.repos.lineItem.setStatus([theirLi.id], 'paused', scope, actor)).toEqual([]);
      expect((await store.repos.lineItem.get(theirLi.id, ALL))?.status).toBe('active');
      // ...and a tenant cannot move its row to another tenant.
      expect(await store.repos.campaign.update(mine.cmp.id, 1, fixtures.campaign(theirs.adv.id), scope, actor)).toEqual(
        { kind: 'not_found' },
      );
      // Its own rows it can change.
      expect(
        ok(await store.repos.lineItem.update(myLi.id, 1, fixtures.lineItem(mine.adv.id, mine.cmp.id), scope, actor))
          .version,
      ).toBe(2);
      expect(await store.repos.lineItem.setStatus([myLi.id], 'paused', scope, actor)).toHaveLength(1);

      // Publisher side.
      const site = ok(await store.repos.site.create(fixtures.site(pub.id), actor));
      const pubScope = tenant([], [pub.id]);
      expect(await store.repos.site.get(site.id, pubScope)).toEqual(site);
      expect(await store.repos.lineItem.get(myLi.id, pubScope)).toBeUndefined();
      expect(await store.repos.site.get(site.id, scope)).toBeUndefined();
    });

    it('shows network-wide audiences to every tenant but lets none of them change one', async () => {
      const { adv } = await advertiserWithCampaign();
      const other = await advertiserWithCampaign();
      const shared = ok(await store.repos.audience.create(fixtures.audience(null, `net-${tag()}`), actor));
      const own = ok(await store.repos.audience.create(fixtures.audience(adv.id, `own-${tag()}`), actor));
      const foreign = ok(await store.repos.audience.create(fixtures.audience(other.adv.id, `f-${tag()}`), actor));
      const scope = tenant([adv.id]);
      expect(await store.repos.audience.get(shared.id, scope)).toEqual(shared);
      const ids = (await store.repos.audience.list({ limit: 500 }, scope)).items.map((a) => a.id);
      expect(ids).toContain(shared.id);
      expect(ids).toContain(own.id);
      expect(ids).not.toContain(foreign.id);
      expect(
        await store.repos.audience.update(
          shared.id,
          1,
          { ...fixtures.audience(null, shared.key), ttlDays: 1 },
          scope,
          actor,
        ),
      ).toEqual({ kind: 'not_found' });
      expect(await store.repos.audience.setStatus([shared.id], 'paused', scope, actor)).toEqual([]);
      // A tenant cannot turn its own audience into a network-wide one either.
      expect(await store.repos.audience.update(own.id, 1, fixtures.audience(null, own.key), scope, actor)).toEqual({
        kind: 'not_found',
      });
      expect(
        ok(await store.repos.audience.update(shared.id, 1, fixtures.audience(null, shared.key), ALL, actor)).version,
      ).toBe(2);
    });

    it('writes an audit entry with before and after for every write', async () => {
      const { adv, cmp } = await advertiserWithCampaign();
      const who: Actor = { userId: 'usr_auditor', label: 'auditor@example.com', requestId: `req-${tag()}` };
      const li = ok(await store.repos.lineItem.create(fixtures.lineItem(adv.id, cmp.id, { name: 'v1' }), who));
      const v2 = ok(
        await store.repos.lineItem.update(li.id, 1, fixtures.lineItem(adv.id, cmp.id, { name: 'v2' }), ALL, who),
      );
      const [v3] = await store.repos.lineItem.setStatus([li.id], 'paused', ALL, who);
      const trail = await store.audit.list({ kind: 'lineItem', entityId: li.id });
      expect(trail.total).toBe(3);
      expect(trail.items.map((e) => e.action)).toEqual(['status', 'update', 'create']);
      const [status, update, create] = trail.items as [
        (typeof trail.items)[0],
        (typeof trail.items)[0],
        (typeof trail.items)[0],
      ];
      expect(create).toMatchObject({
        actor: 'auditor@example.com',
        userId: 'usr_auditor',
        requestId: who.requestId,
        kind: 'lineItem',
        entityId: li.id,
        before: null,
        after: li,
        advertiserId: adv.id,
        publisherId: null,
      });
      expect(update).toMatchObject({ before: li, after: v2 });
      expect(status).toMatchObject({ before: v2, after: v3 });
      expect(create.id < update.id && update.id < status.id).toBe(true);

      // Pages by cursor, newest first, and filters by user.
      const first = await store.audit.list({ kind: 'lineItem', entityId: li.id, limit: 2 });
      expect(first.items.map((e) => e.id)).toEqual([status.id, update.id]);
      const second = await store.audit.list({ kind: 'lineItem', entityId: li.id, limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((e) => e.id)).toEqual([create.id]);
      expect(second.nextCursor).toBeNull();
      expect(
        (await store.audit.list({ userId: 'usr_auditor', limit: 500 })).items.every((e) => e.userId === 'usr_auditor'),
      ).toBe(true);
      await expect(store.audit.list({ cursor: 'garbage!' })).rejects.toBeInstanceOf(BadCursorError);

      const pub = ok(await store.repos.publisher.create(fixtures.publisher(), who));
      const pubTrail = await store.audit.list({ entityId: pub.id });
      expect(pubTrail.items[0]).toMatchObject({ publisherId: pub.id, advertiserId: null });

      await store.audit.record({
        actor: 'auditor@example.com',
        userId: 'usr_auditor',
        requestId: null,
        action: 'login',
        kind: 'session',
        entityId: 'usr_auditor',
        before: null,
        after: { ip: '127.0.0.1' },
        advertiserId: null,
        publisherId: null,
      });
      const login = await store.audit.list({ kind: 'session', entityId: 'usr_auditor' });
      expect(login.items[0]).toMatchObject({ action: 'login', after: { ip: '127.0.0.1' } });
    });

    it('updates network settings with an audit entry and a change', async () => {
      const before = await store.feed.loadSnapshot();
      const updated = await store.network.update(
        { name: 'Acme Ads', currency: 'EUR', timeZone: 'Europe/Paris' },
        actor,
      );
      expect(updated).toEqual({ name: 'Acme Ads', currency: 'EUR', timeZone: 'Europe/Paris' });
      expect(await store.network.get()).toEqual(updated);
      const changes = await store.feed.readSince(before.seq);
      expect(changes.find((c) => c.kind === 'network')).toMatchObject({ id: 'network', op: 'update', entity: updated });
      const trail = await store.audit.list({ kind: 'network' });
      expect(trail.items[0]).toMatchObject({ action: 'update', after: updated });
      expect((await store.feed.loadSnapshot()).network).toEqual(updated);
    });

    it('keeps credentials: password hashes, sessions with expiry, API keys by hash', async () => {
      const email = `Cred-${tag()}@Example.com`;
      const user = ok(await store.repos.user.create(fixtures.user(email), actor));
      expect(await store.credentials.findUserByEmail(email.toLowerCase())).toEqual({ ...user, passwordHash: null });
      await store.credentials.setPasswordHash(user.id, '$argon2id$fake-hash', actor);
      expect((await store.credentials.findUserByEmail(email.toUpperCase()))?.passwordHash).toBe('$argon2id$fake-hash');
      expect(await store.credentials.findUserByEmail('nobody@example.com')).toBeUndefined();
      const audit = await store.audit.list({ kind: 'user', entityId: user.id });
      expect(audit.items[0]).toMatchObject({ action: 'password', before: null, after: null });
      expect(JSON.stringify(audit.items)).not.toContain('fake-hash');

      const now = Date.now();
      const sid = `sess-${tag()}`;
      await store.credentials.createSession({
        id: sid,
        userId: user.id,
        csrfToken: 'csrf',
        expiresAt: new Date(now + 60_000),
      });
      expect(await store.credentials.getSession(sid)).toEqual({
        userId: user.id,
        csrfToken: 'csrf',
        expiresAt: new Date(now + 60_000),
      });
      await store.credentials.touchSession(sid, new Date(now + 120_000));
      expect((await store.credentials.getSession(sid))?.expiresAt).toEqual(new Date(now + 120_000));
      await store.credentials.touchSession(sid, new Date(now - 1000));
      expect(await store.credentials.getSession(sid)).toBeUndefined();
      await store.credentials.createSession({
        id: `${sid}-2`,
        userId: user.id,
        csrfToken: 'c',
        expiresAt: new Date(now + 60_000),
      });
      await store.credentials.createSession({
        id: `${sid}-3`,
        userId: user.id,
        csrfToken: 'c',
        expiresAt: new Date(now + 60_000),
      });
      await store.credentials.deleteSession(`${sid}-2`);
      expect(await store.credentials.getSession(`${sid}-2`)).toBeUndefined();
      expect(await store.credentials.getSession(`${sid}-3`)).toBeDefined();
      await store.credentials.deleteSessionsOfUser(user.id);
      expect(await store.credentials.getSession(`${sid}-3`)).toBeUndefined();

      const iso = new Date(now).toISOString();
      const key = {
        id: `key_${tag()}`,
        version: 1,
        createdAt: iso,
        updatedAt: iso,
        userId: user.id,
        name: 'ci',
        prefix: 'mq_ab',
        scope: 'write' as const,
        status: 'active' as const,
        lastUsedAt: null,
        expiresAt: null,
      };
      const hash = randomBytes(32).toString('hex');
      await store.credentials.createApiKey({ ...key, hash }, actor);
      expect(await store.credentials.findApiKeyByHash(hash)).toEqual(key);
      expect(await store.credentials.findApiKeyByHash(randomBytes(32).toString('hex'))).toBeUndefined();
      const expired = { ...key, id: `key_${tag()}`, expiresAt: new Date(now - 1000).toISOString() };
      const expiredHash = randomBytes(32).toString('hex');
      await store.credentials.createApiKey({ ...expired, hash: expiredHash }, actor);
      expect(await store.credentials.findApiKeyByHash(expiredHash)).toBeUndefined();
      expect((await store.credentials.listApiKeys(user.id)).map((k) => k.id).sort()).toEqual(
        [key.id, expired.id].sort(),
      );
      expect((await store.credentials.listApiKeys(null)).map((k) => k.id)).toContain(key.id);
      const used = new Date(now + 5000);
      await store.credentials.markApiKeyUsed(key.id, used);
      expect((await store.credentials.findApiKeyByHash(hash))?.lastUsedAt).toBe(used.toISOString());
      const revoked = await store.credentials.revokeApiKey(key.id, actor);
      expect(revoked).toMatchObject({ id: key.id, status: 'revoked', version: 2 });
      expect(await store.credentials.findApiKeyByHash(hash)).toBeUndefined();
      expect(await store.credentials.revokeApiKey('key_missing', actor)).toBeUndefined();
      const keyAudit = await store.audit.list({ kind: 'apiKey', entityId: key.id });
      expect(keyAudit.items.map((e) => e.action)).toEqual(['revoke', 'create']);
      expect(JSON.stringify(keyAudit.items)).not.toContain(hash);

      // Archived users cannot be found to sign in.
      await store.repos.user.setStatus([user.id], 'archived', ALL, actor);
      expect(await store.credentials.findUserByEmail(email)).toBeUndefined();
    });

    it('stores asset metadata, deduplicated per advertiser by SHA-256, and pages it', async () => {
      const adv = ok(await store.repos.advertiser.create(fixtures.advertiser(), actor));
      const sha = (n: number) => n.toString(16).padStart(64, '0');
      const asset = (i: number, s = sha(i)) => ({
        id: `ast_${tag()}${i}`,
        advertiserId: adv.id,
        sha256: s,
        contentType: 'image/png',
        bytes: 100 + i,
        width: 300,
        height: 250,
        kind: 'image' as const,
        url: `/assets/${i}.png`,
        createdAt: new Date().toISOString(),
      });
      const saved = [
        await store.assets.save(asset(1)),
        await store.assets.save(asset(2)),
        await store.assets.save(asset(3)),
      ];
      expect(await store.assets.get(saved[0]!.id)).toEqual(saved[0]);
      expect(await store.assets.findBySha(adv.id, sha(2))).toEqual(saved[1]);
      expect(await store.assets.findBySha(adv.id, sha(9))).toBeUndefined();
      // Same bytes again under a new id: the stored asset comes back.
      expect(await store.assets.save(asset(4, sha(1)))).toEqual(saved[0]);
      const first = await store.assets.list(adv.id, 2);
      expect(first.total).toBe(3);
      const second = await store.assets.list(adv.id, 2, first.nextCursor!);
      expect([...first.items, ...second.items].map((a) => a.id).sort()).toEqual(saved.map((a) => a.id).sort());
      expect(second.nextCursor).toBeNull();
      expect((await store.assets.list(null, 500)).items.length).toBeGreaterThanOrEqual(3);
    });

    it('gives a consistent snapshot and follows every later change exactly once, in order', async () => {
      const { adv, cmp } = await advertiserWithCampaign();
      const snapshot = await store.feed.loadSnapshot();
      expect(snapshot.entities.advertiser.map((a) => a.id)).toContain(adv.id);
      expect(snapshot.entities.campaign.map((c) => c.id)).toContain(cmp.id);
      // Archived rows are in the snapshot too.
      const archived = ok(
        await store.repos.lineItem.create(fixtures.lineItem(adv.id, cmp.id, { status: 'archived' }), actor),
      );
      const snap2 = await store.feed.loadSnapshot();
      expect(snap2.entities.lineItem.map((l) => l.id)).toContain(archived.id);
      expect(snap2.seq).toBeGreaterThan(snapshot.seq);
      expect((await store.feed.readSince(snapshot.seq)).map((c) => c.id)).toEqual([archived.id]);
      const maxAll = await store.feed.readSince(0, 1_000_000);
      expect(maxAll.at(-1)?.seq).toBe(snap2.seq);
      expect((await store.feed.readSince(0, 3)).length).toBe(3);

      const received: Change[] = [];
      const stop = store.feed.follow(snap2.seq, async (batch) => {
        received.push(...batch);
      });
      // 200 concurrent writers.
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store.repos.lineItem.create(fixtures.lineItem(adv.id, cmp.id, { name: `concurrent ${i}` }), actor),
        ),
      );
      const createdIds = results.map((r) => ok(r).id);
      await eventually(() => expect(received.length).toBeGreaterThanOrEqual(200));
      // A later update arrives too, after the creates.
      ok(await store.repos.lineItem.update(createdIds[0]!, 1, fixtures.lineItem(adv.id, cmp.id), ALL, actor));
      await eventually(() => expect(received.length).toBe(201));
      await stop();
      const seqs = received.map((c) => c.seq);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
      expect(seqs[0]).toBe(snap2.seq + 1);
      expect(seqs.at(-1)! - seqs[0]!).toBe(200); // contiguous: no gaps
      expect(new Set(received.slice(0, 200).map((c) => c.id))).toEqual(new Set(createdIds));
      expect(received.at(-1)).toMatchObject({ id: createdIds[0], op: 'update', kind: 'lineItem' });
      // After stop, nothing more is delivered.
      ok(await store.repos.advertiser.create(fixtures.advertiser(), actor));
      await new Promise((r) => setTimeout(r, 50));
      expect(received.length).toBe(201);
    });

    it('follows from many concurrent followers and redelivers a batch whose callback failed', async () => {
      const start = (await store.feed.loadSnapshot()).seq;
      let failuresLeft = 1;
      const got: number[] = [];
      const stop = store.feed.follow(start, (batch) => {
        if (failuresLeft-- > 0) throw new Error('consumer hiccup');
        got.push(...batch.map((c) => c.seq));
      });
      const others: number[][] = [[], [], []];
      const stops = others.map((list) =>
        store.feed.follow(start, (batch) => void list.push(...batch.map((c) => c.seq))),
      );
      for (let i = 0; i < 5; i++) ok(await store.repos.publisher.create(fixtures.publisher(), actor));
      await eventually(() => {
        expect(got).toHaveLength(5);
        for (const list of others) expect(list).toEqual(got);
      });
      expect(got).toEqual([1, 2, 3, 4, 5].map((i) => start + i));
      await Promise.all([stop(), ...stops.map((s) => s())]);
    });

    if (options.sharedInstances) {
      it('sees changes committed by a second store instance on the same database', async () => {
        const second = await open();
        try {
          const start = (await store.feed.loadSnapshot()).seq;
          const seen: Change[] = [];
          const stop = store.feed.follow(start, (batch) => void seen.push(...batch));
          const adv = ok(await second.repos.advertiser.create(fixtures.advertiser({ name: 'from elsewhere' }), actor));
          await eventually(() => expect(seen.map((c) => c.id)).toEqual([adv.id]), 5000);
          // ...and the other way round.
          const back: Change[] = [];
          const stopBack = second.feed.follow(seen[0]!.seq, (batch) => void back.push(...batch));
          const pub = ok(await store.repos.publisher.create(fixtures.publisher(), actor));
          await eventually(() => expect(back.map((c) => c.id)).toEqual([pub.id]), 5000);
          await stop();
          await stopBack();
        } finally {
          await second.close();
        }
      });
    }
  });

  if (options.persistent) {
    describe(`Store contract: ${name}, reopened`, () => {
      it('keeps its data and migrations across close and reopen', async () => {
        const first = await open();
        const adv = ok(await first.repos.advertiser.create(fixtures.advertiser({ name: 'durable' }), actor));
        const seq = (await first.feed.loadSnapshot()).seq;
        await first.close();
        const again = await open();
        try {
          expect(await again.repos.advertiser.get(adv.id, ALL)).toEqual(adv);
          expect((await again.feed.loadSnapshot()).seq).toBe(seq);
          const next = ok(await again.repos.advertiser.create(fixtures.advertiser(), actor));
          expect((await again.feed.readSince(seq)).map((c) => c.id)).toEqual([next.id]);
        } finally {
          await again.close();
        }
      });
    });
  }
}
