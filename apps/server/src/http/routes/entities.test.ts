import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../testing/test-app.ts';

/** Management API behaviour: defaults, concurrency, rules, lists, bulk, roles. Tenancy is in tenant-wall.test.ts. */
describe('entity routes', () => {
  let t: TestApp;
  let admin: Record<string, string>;
  type Json = Record<string, unknown> & { id: string; version: number };

  const call = async (
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = admin,
  ) => {
    const res = await t.app.inject({
      method,
      url: `/api/v1${url}`,
      headers,
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    return { status: res.statusCode, body: res.json() as Json & { items: Json[] }, headers: res.headers };
  };
  const created = async (url: string, payload: unknown, headers: Record<string, string> = admin) => {
    const r = await call('POST', url, payload, headers);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };

  let adv: Json;
  let other: Json;
  let campaign: Json;
  let pub: Json;
  let site: Json;
  beforeAll(async () => {
    t = await createTestApp();
    admin = t.admin.headers;
    adv = await created('/advertisers', { name: 'Acme Travel', domain: 'acme.example' });
    other = await created('/advertisers', { name: 'Other Co' });
    campaign = await created('/campaigns', { advertiserId: adv.id, name: 'Summer' });
    pub = await created('/publishers', { name: 'Daily News' });
    site = await created('/sites', { publisherId: pub.id, name: 'dailynews.example', domain: 'dailynews.example' });
  });
  afterAll(() => t?.close());

  it('creates with the defaults a trafficker expects, with ETag and Location', async () => {
    const r = await call('POST', '/line-items', {
      campaignId: campaign.id,
      name: 'Run of site',
      rateMicros: 2_500_000,
    });
    expect(r.status).toBe(201);
    expect(r.headers.etag).toBe('"1"');
    expect(r.headers.location).toBe(`/api/v1/line-items/${r.body.id}`);
    expect(r.body).toMatchObject({
      advertiserId: adv.id, // derived from the campaign
      status: 'draft',
      priority: 'standard',
      pricingModel: 'cpm',
      currency: 'USD',
      timeZone: 'UTC',
      pacing: 'even',
      rotation: 'weighted',
      endAt: null,
      targeting: null,
      creatives: [],
      frequencyCaps: [],
      dayParting: [],
      allowSameAdvertiser: false,
      version: 1,
    });
    expect(typeof r.body.startAt).toBe('string');
    const got = await call('GET', `/line-items/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.headers.etag).toBe('"1"');
    expect(got.body).toEqual(r.body);

    const placement = await created('/placements', { siteId: site.id, name: 'MPU', sizes: [{ w: 300, h: 250 }] });
    expect(placement).toMatchObject({ publisherId: pub.id, formats: ['banner'], floorMicros: 0, status: 'active' });
    const creative = await created('/creatives', {
      advertiserId: adv.id,
      name: 'Banner',
      kind: 'image',
      width: 300,
      height: 250,
      imageUrl: 'https://cdn.example/a.png',
      clickUrl: 'https://acme.example/',
    });
    expect(creative).toMatchObject({ format: 'banner', approval: 'pending', status: 'draft', categories: [] });
  });

  it('updates partially with optimistic concurrency: 428 without a version, 409 with the current entity', async () => {
    const li = await created('/line-items', { campaignId: campaign.id, name: 'Concurrency', rateMicros: 1 });
    const url = `/line-items/${li.id}`;
    expect((await call('PATCH', url, { name: 'x' })).body.code).toBe('MQ_ERR_PRECONDITION_REQUIRED');

    const ok = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1${url}`,
      headers: { ...admin, 'if-match': '"1"' },
      payload: { name: 'Renamed', dailyBudgetMicros: 5_000_000 },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers.etag).toBe('"2"');
    expect(ok.json()).toMatchObject({ name: 'Renamed', dailyBudgetMicros: 5_000_000, rateMicros: 1, version: 2 });

    const stale = await call('PATCH', url, { name: 'Lost update', version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('MQ_ERR_CONFLICT');
    expect(stale.body.current).toMatchObject({ name: 'Renamed', version: 2 });
    expect(stale.headers.etag).toBe('"2"');

    const weak = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1${url}`,
      headers: { ...admin, 'if-match': 'W/"2"' },
      payload: { name: 'Weak etag' },
    });
    expect(weak.statusCode).toBe(200);
    const mismatch = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1${url}`,
      headers: { ...admin, 'if-match': '"3"' },
      payload: { name: 'x', version: 2 },
    });
    expect(mismatch.statusCode).toBe(400);
  });

  it('validates the merged entity against the business rules (422 with field paths)', async () => {
    const li = await created('/line-items', {
      campaignId: campaign.id,
      name: 'Rules',
      rateMicros: 1,
      startAt: '2030-01-10T00:00:00Z',
    });
    const r = await call('PATCH', `/line-items/${li.id}`, {
      version: 1,
      endAt: '2030-01-01T00:00:00Z',
      dailyBudgetMicros: 10,
      lifetimeBudgetMicros: 5,
    });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('MQ_ERR_UNPROCESSABLE');
    const paths = (r.body.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(['/dailyBudgetMicros', '/endAt']);

    const badTargeting = await call('POST', '/line-items', {
      campaignId: campaign.id,
      name: 'Bad targeting',
      rateMicros: 1,
      targeting: {
        and: [
          { dimension: 'country', values: ['usa'] },
          { dimension: 'hour', values: [25] },
        ],
      },
    });
    expect(badTargeting.status).toBe(422);
    expect((badTargeting.body.details as { path: string }[]).map((d) => d.path)).toEqual([
      '/targeting/and/0/values/0',
      '/targeting/and/1/values/0',
    ]);
  });

  it('keeps parents consistent: campaign of the advertiser, site of the publisher, tenants never move', async () => {
    const otherCampaign = await created('/campaigns', { advertiserId: other.id, name: 'Theirs' });
    const wrong = await call('POST', '/line-items', {
      advertiserId: adv.id,
      campaignId: otherCampaign.id,
      name: 'Wrong owner',
      rateMicros: 1,
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.details).toContainEqual(expect.objectContaining({ path: '/campaignId', code: 'wrong_owner' }));

    const missing = await call('POST', '/line-items', {
      campaignId: 'cmp_0000000000',
      name: 'No campaign',
      rateMicros: 1,
    });
    expect(missing.status).toBe(422);
    expect(missing.body.details).toContainEqual(expect.objectContaining({ path: '/campaignId', code: 'not_found' }));

    const moved = await call('PATCH', `/campaigns/${campaign.id}`, {
      advertiserId: other.id,
      version: campaign.version,
    });
    expect(moved.status).toBe(422);
    expect(moved.body.details).toContainEqual(expect.objectContaining({ path: '/advertiserId', code: 'immutable' }));

    const pub2 = await created('/publishers', { name: 'Other publisher' });
    const mismatch = await call('POST', '/placements', { siteId: site.id, publisherId: pub2.id, name: 'x', sizes: [] });
    expect(mismatch.status).toBe(422);

    const noSize = await call('POST', '/placements', { siteId: site.id, name: 'No size' });
    expect(noSize.status).toBe(422);
    expect(noSize.body.details).toContainEqual(expect.objectContaining({ path: '/sizes' }));

    const creativeOfOther = await created('/creatives', {
      advertiserId: other.id,
      name: 'Theirs',
      kind: 'html',
      width: 300,
      height: 250,
      html: '<b>x</b>',
    });
    const assign = await call('POST', '/line-items', {
      campaignId: campaign.id,
      name: 'Assign theirs',
      rateMicros: 1,
      creatives: [{ creativeId: creativeOfOther.id }],
    });
    expect(assign.status).toBe(422);
    expect(assign.body.details).toContainEqual(expect.objectContaining({ path: '/creatives/0/creativeId' }));
  });

  it('rejects malformed input with 400 and the catalogue codes', async () => {
    expect((await call('GET', '/line-items/not-an-id')).body.code).toBe('MQ_ERR_BAD_ID');
    expect((await call('GET', `/line-items/${campaign.id}`)).body.code).toBe('MQ_ERR_BAD_ID');
    expect((await call('GET', '/line-items/li_0000000000000')).status).toBe(404);
    const unknown = await call('POST', '/advertisers', { name: 'x', color: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toContainEqual(expect.objectContaining({ path: '/color' }));
    const wrongType = await call('POST', '/advertisers', { name: 42 });
    expect(wrongType.body.code).toBe('MQ_ERR_VALIDATION');
    expect((await call('GET', '/line-items?cursor=garbage')).body.code).toBe('MQ_ERR_BAD_CURSOR');
    expect((await call('GET', '/line-items?limit=5000')).status).toBe(400);
    expect((await call('PATCH', `/advertisers/${adv.id}`, {})).status).toBe(400);
  });

  it('explains targeting nested too deep (422), and refuses absurd nesting before validating (400)', async () => {
    const nest = (depth: number) =>
      `${'{"not":'.repeat(depth)}{"dimension":"country","values":["US"]}${'}'.repeat(depth)}`;
    const send = (depth: number) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/line-items',
        headers: { ...admin, 'content-type': 'application/json' },
        payload: `{"campaignId":"${campaign.id}","name":"Deep","rateMicros":1,"targeting":${nest(depth)}}`,
      });
    const tooDeep = await send(12);
    expect(tooDeep.statusCode).toBe(422);
    expect(tooDeep.json().details[0].code).toBe('too_deep');
    const absurd = await send(5000); // a recursive validator would overflow the stack here
    expect(absurd.statusCode).toBe(400);
    expect(absurd.json().details[0].code).toBe('too_deep');
  });

  it('removes an optional field with null and keeps the rest', async () => {
    const a = await created('/advertisers', { name: 'Nullable', domain: 'n.example', notes: 'hello' });
    const r = await call('PATCH', `/advertisers/${a.id}`, { version: 1, domain: null });
    expect(r.status).toBe(200);
    expect(r.body.domain).toBeUndefined();
    expect(r.body.notes).toBe('hello');
  });

  it('lists with filters, search, sort and keyset pagination', async () => {
    const c2 = await created('/campaigns', { advertiserId: adv.id, name: 'Paging' });
    const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];
    for (const name of names) {
      await created('/line-items', { campaignId: c2.id, name: `page-${name}`, rateMicros: 1, priority: 'house' });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/line-items?campaignId=${c2.id}&sort=name&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await call('GET', q);
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(5);
      seen.push(...page.body.items.map((i) => i.name as string));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual([...names].sort().map((n) => `page-${n}`));

    const search = await call('GET', `/line-items?search=PAGE-EC&campaignId=${c2.id}`);
    expect(search.body.items.map((i) => i.name)).toEqual(['page-echo']);
    const house = await call('GET', `/line-items?priority=house&advertiserId=${adv.id}`);
    expect(house.body.total).toBe(5);
    const desc = await call('GET', `/line-items?campaignId=${c2.id}&sort=-name&limit=1`);
    expect(desc.body.items[0]?.name).toBe('page-echo');
    expect((await call('GET', '/line-items?sort=color')).status).toBe(400);
    expect((await call('GET', '/line-items?colour=red')).status).toBe(400);
  });

  it('archives and bulk-changes status, reporting unknown ids', async () => {
    const c = await created('/campaigns', { advertiserId: adv.id, name: 'Bulk' });
    const a = await created('/line-items', { campaignId: c.id, name: 'bulk-a', rateMicros: 1 });
    const b = await created('/line-items', { campaignId: c.id, name: 'bulk-b', rateMicros: 1 });
    const r = await call('POST', '/line-items/bulk-status', {
      ids: [a.id, b.id, 'li_00000000000000', 'cmp_0000'],
      status: 'paused',
    });
    expect(r.status).toBe(200);
    expect((r.body.changed as string[]).sort()).toEqual([a.id, b.id].sort());
    expect(r.body.errors).toEqual([
      expect.objectContaining({ id: 'li_00000000000000', code: 'not_found' }),
      expect.objectContaining({ id: 'cmp_0000', code: 'bad_id' }),
    ]);
    const again = await call('POST', '/line-items/bulk-status', { ids: [a.id], status: 'paused' });
    expect(again.body).toMatchObject({ changed: [], unchanged: [a.id] });

    const archived = await call('POST', `/line-items/${a.id}/archive`);
    expect(archived.body).toMatchObject({ status: 'archived' });
    expect(archived.headers.etag).toBe(`"${archived.body.version}"`);
    const list = await call('GET', `/line-items?campaignId=${c.id}`);
    expect(list.body.items.map((i) => i.id)).toEqual([b.id]);
    const withArchived = await call('GET', `/line-items?campaignId=${c.id}&includeArchived=true`);
    expect(withArchived.body.total).toBe(2);
  });

  describe('roles', () => {
    let trafficker: TestUser;
    let readonly: TestUser;
    let publisherUser: TestUser;
    beforeAll(async () => {
      trafficker = await t.createUser({ role: 'advertiser', advertiserIds: [adv.id] });
      readonly = await t.createUser({ role: 'readonly' });
      publisherUser = await t.createUser({ role: 'publisher', publisherIds: [pub.id] });
    });

    it('only admins create tenants, approve creatives and change revenue shares', async () => {
      expect((await call('POST', '/advertisers', { name: 'Mine' }, trafficker.headers)).status).toBe(403);
      const approvedOnCreate = await call(
        'POST',
        '/creatives',
        { advertiserId: adv.id, name: 'x', kind: 'html', width: 1, height: 1, html: 'x', approval: 'approved' },
        trafficker.headers,
      );
      expect(approvedOnCreate.status).toBe(403);

      const creative = await created(
        '/creatives',
        { advertiserId: adv.id, name: 'Review me', kind: 'html', width: 300, height: 250, html: '<b>v1</b>' },
        trafficker.headers,
      );
      const approve = await call('PATCH', `/creatives/${creative.id}`, { version: 1, approval: 'approved' });
      expect(approve.body.approval).toBe('approved');
      const selfApprove = await call(
        'PATCH',
        `/creatives/${creative.id}`,
        { version: 2, approval: 'rejected' },
        trafficker.headers,
      );
      expect(selfApprove.status).toBe(403);
      const rename = await call(
        'PATCH',
        `/creatives/${creative.id}`,
        { version: 2, name: 'Renamed' },
        trafficker.headers,
      );
      expect(rename.body).toMatchObject({ name: 'Renamed', approval: 'approved' });
      const edit = await call(
        'PATCH',
        `/creatives/${creative.id}`,
        { version: 3, html: '<b>v2</b>' },
        trafficker.headers,
      );
      expect(edit.body).toMatchObject({ html: '<b>v2</b>', approval: 'pending' });

      const share = await call(
        'PATCH',
        `/publishers/${pub.id}`,
        { version: 1, revenueShareBps: 9000 },
        publisherUser.headers,
      );
      expect(share.status).toBe(403);
      const rename2 = await call(
        'PATCH',
        `/publishers/${pub.id}`,
        { version: 1, name: 'Daily News Ltd' },
        publisherUser.headers,
      );
      expect(rename2.status).toBe(200);
    });

    it('tenant users create only for their own tenants; readonly users cannot write', async () => {
      const foreign = await call('POST', '/campaigns', { advertiserId: other.id, name: 'x' }, trafficker.headers);
      expect(foreign.status).toBe(403);
      const own = await call('POST', '/campaigns', { advertiserId: adv.id, name: 'Own' }, trafficker.headers);
      expect(own.status).toBe(201);
      const network = await call('POST', '/audiences', { name: 'Everyone', key: 'everyone-x' }, trafficker.headers);
      expect(network.status).toBe(403);
      const mine = await call(
        'POST',
        '/audiences',
        { advertiserId: adv.id, name: 'Buyers', key: 'acme-buyers' },
        trafficker.headers,
      );
      expect(mine.status).toBe(201);
      const dup = await call('POST', '/audiences', { advertiserId: adv.id, name: 'Again', key: 'acme-buyers' });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe('MQ_ERR_DUPLICATE');

      expect((await call('GET', '/line-items', undefined, readonly.headers)).status).toBe(200);
      expect((await call('POST', '/advertisers', { name: 'x' }, readonly.headers)).status).toBe(403);
      expect((await call('GET', '/placements', undefined, trafficker.headers)).status).toBe(403);
      expect((await call('GET', '/campaigns', undefined, publisherUser.headers)).status).toBe(403);
      expect((await call('GET', '/campaigns', undefined, {})).status).toBe(401);
    });
  });
});
