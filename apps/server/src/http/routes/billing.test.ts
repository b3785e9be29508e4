/**
 * The billing routes: bad input answers a clear 4xx from the error catalogue (negative, zero, overflowing,
 * fractional or string amounts, currency mismatches, adjustments by non-admins), idempotency keys, the
 * audit trail, what each role sees of the journal, the printable page and CSV, and a fuzz of every
 * billing route (2,000+ requests) that must never produce a 5xx or move money without an admin.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STYLE_CSP } from '../../billing/billing-render.ts';
import { createTestApp, type TestApp, type TestUser } from '../../testing/test-app.ts';

let t: TestApp;
let adv: string;
let eurAdv: string;
let pub: string;
let advUser: TestUser;
let pubUser: TestUser;
let readonly: TestUser;

const admin = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers = t.admin.headers) =>
  t.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { ...headers, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(payload !== undefined ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}),
  });

beforeAll(async () => {
  t = await createTestApp();
  const create = async (url: string, payload: object) => {
    const res = await admin('POST', url, payload);
    if (res.statusCode !== 201) throw new Error(res.body);
    return res.json().id as string;
  };
  adv = await create('/advertisers', { name: 'Acme' });
  eurAdv = await create('/advertisers', { name: 'Euro', currency: 'EUR' });
  pub = await create('/publishers', { name: 'Daily', revenueShareBps: 7000 });
  advUser = await t.createUser({ role: 'advertiser', advertiserIds: [adv] });
  pubUser = await t.createUser({ role: 'publisher', publisherIds: [pub] });
  readonly = await t.createUser({ role: 'readonly' });
});
afterAll(() => t?.close());

describe('bad input', () => {
  it('refuses malformed, negative, zero, overflowing and string amounts with a 400', async () => {
    const base = { advertiserId: '', amountMicros: 1, currency: 'USD' };
    const cases: [string, string, unknown][] = [
      ['/billing/payments', 'negative payment', { ...base, amountMicros: -1 }],
      ['/billing/payments', 'zero payment', { ...base, amountMicros: 0 }],
      ['/billing/adjustments', 'zero adjustment', { ...base, amountMicros: 0, reason: 'x' }],
      ['/billing/payments', 'fraction', { ...base, amountMicros: 1.5 }],
      ['/billing/payments', 'string', { ...base, amountMicros: '100' }],
      ['/billing/payments', 'null', { ...base, amountMicros: null }],
      ['/billing/adjustments', 'no reason', { ...base }],
      ['/billing/adjustments', 'empty reason', { ...base, reason: '' }],
      ['/billing/payments', 'lowercase currency', { ...base, currency: 'usd' }],
      ['/billing/payments', 'both parties', { ...base, publisherId: 'PUB' }],
      ['/billing/payments', 'no party', { amountMicros: 1, currency: 'USD' }],
      ['/billing/payments', 'unknown field', { ...base, extra: 1 }],
      ['/billing/payments', 'bad id', { ...base, advertiserId: 'not an id' }],
    ];
    for (const [url, name, body] of cases) {
      const payload = JSON.parse(
        JSON.stringify(body).replace('""', JSON.stringify(adv)).replace('"PUB"', JSON.stringify(pub)),
      );
      const res = await admin('POST', url, payload);
      expect(res.statusCode, `${name}: ${res.body}`).toBe(400);
      expect(res.json().code, name).toBe('MQ_ERR_VALIDATION');
    }
    // Past 2^53 and beyond any number, as raw JSON text (JSON.stringify could not even write them exactly).
    for (const amount of ['9007199254740992', '9007199254740993', '1e400', '-9007199254740992']) {
      const res = await admin(
        'POST',
        '/billing/adjustments',
        `{"advertiserId":"${adv}","amountMicros":${amount},"currency":"USD","reason":"x"}`,
      );
      expect(res.statusCode, amount).toBe(400);
    }
    expect((await admin('POST', '/billing/payments', '{"advertiserId":')).json().code).toBe('MQ_ERR_MALFORMED_JSON');
  });

  it('refuses a currency that does not match the account with a 422, an unknown party with a 404', async () => {
    const res = await admin('POST', '/billing/payments', { advertiserId: adv, amountMicros: 5, currency: 'EUR' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'MQ_ERR_UNPROCESSABLE',
      details: [{ path: '/currency', code: 'currency_mismatch' }],
    });
    expect(
      (
        await admin('POST', '/billing/adjustments', {
          advertiserId: eurAdv,
          amountMicros: 5,
          currency: 'USD',
          reason: 'x',
        })
      ).statusCode,
    ).toBe(422);
    // Publishers: the network's currency (USD here).
    expect(
      (await admin('POST', '/billing/payments', { publisherId: pub, amountMicros: 5, currency: 'JPY' })).statusCode,
    ).toBe(422);
    const limit = await admin('PUT', `/billing/credit-limits/${eurAdv}`, { creditLimitMicros: 10, currency: 'USD' });
    expect(limit.statusCode).toBe(422);
    expect(
      (await admin('PUT', `/billing/credit-limits/${eurAdv}`, { creditLimitMicros: -1, currency: 'EUR' })).statusCode,
    ).toBe(400);
    const ghost = 'adv_01HZZZZZZZZZZZZZZZZZZZZZZZ';
    const missing = await admin('POST', '/billing/payments', { advertiserId: ghost, amountMicros: 5, currency: 'USD' });
    expect([400, 404]).toContain(missing.statusCode);
  });

  it('refuses payments, adjustments and credit limits from anyone but an admin with write rights: 403', async () => {
    const key = await t.apiKey(t.admin.headers, 'read');
    const body = { advertiserId: adv, amountMicros: -1_000_000, currency: 'USD', reason: 'gift' };
    for (const who of [advUser.headers, pubUser.headers, readonly.headers, key.headers]) {
      expect((await admin('POST', '/billing/adjustments', body, who)).statusCode).toBe(403);
      expect((await admin('POST', '/billing/payments', { ...body, reason: undefined }, who)).statusCode).toBe(403);
      // Even a malformed body: the right is checked first.
      expect((await admin('POST', '/billing/adjustments', { amountMicros: 'lots' }, who)).statusCode).toBe(403);
      expect(
        (await admin('PUT', `/billing/credit-limits/${adv}`, { creditLimitMicros: null, currency: 'USD' }, who))
          .statusCode,
      ).toBe(403);
    }
    const anonymous = await t.app.inject({ method: 'POST', url: '/api/v1/billing/adjustments', payload: body });
    expect(anonymous.statusCode).toBe(401);
    expect((await admin('GET', `/billing/balances?advertiserId=${adv}`)).json().accounts).toEqual([]);
  });

  it('refuses malformed document queries with a 400', async () => {
    for (const q of [
      'month=2026-13',
      'month=2026-1',
      'month=',
      '',
      'month=2026-01&format=pdf',
      'month=2026-01&advertiserId=x y',
    ]) {
      const res = await admin(
        'GET',
        `/billing/invoices?${q}${q.includes('advertiserId') ? '' : `&advertiserId=${adv}`}`,
      );
      expect(res.statusCode, q).toBe(400);
    }
    // An admin must name the advertiser; its own single advertiser is the default for a tenant.
    expect((await admin('GET', '/billing/invoices?month=2026-01')).statusCode).toBe(400);
    expect((await admin('GET', '/billing/invoices?month=2026-01', undefined, advUser.headers)).statusCode).toBe(200);
    expect((await admin('GET', '/billing/invoices?month=2026-01', undefined, pubUser.headers)).statusCode).toBe(403);
    expect((await admin('GET', '/billing/statements?month=2026-01', undefined, advUser.headers)).statusCode).toBe(403);
    expect((await admin('GET', '/billing/entries?limit=0')).statusCode).toBe(400);
    expect((await admin('GET', '/billing/entries?before=-4')).statusCode).toBe(400);
  });
});

describe('payments and adjustments', () => {
  it('posts once per idempotency key; the same key with another body is a 409', async () => {
    const body = {
      advertiserId: adv,
      amountMicros: 2_000_000,
      currency: 'USD',
      reference: 'wire 7',
      idempotencyKey: 'pay-7',
    };
    const first = await admin('POST', '/billing/payments', body);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json().entry.lines).toEqual([
      expect.objectContaining({ kind: 'cash', amountMicros: 2_000_000 }),
      expect.objectContaining({ kind: 'advertiser', ownerId: adv, amountMicros: -2_000_000 }),
    ]);
    const retry = await admin('POST', '/billing/payments', body);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ created: false, entry: first.json().entry });
    const other = await admin('POST', '/billing/payments', { ...body, amountMicros: 3 });
    expect(other.statusCode).toBe(409);
    expect(other.json().code).toBe('MQ_ERR_DUPLICATE');
    const balance = (await admin('GET', `/billing/balances?advertiserId=${adv}`)).json().accounts[0];
    expect(balance).toMatchObject({ balanceMicros: -2_000_000, balance: '-2.000000' });
  });

  it('records every adjustment in the audit log with its reason, and it balances', async () => {
    const res = await admin('POST', '/billing/adjustments', {
      advertiserId: adv,
      amountMicros: -250_000,
      currency: 'USD',
      reason: 'make-good for the outage of 3 March',
    });
    expect(res.statusCode, res.body).toBe(201);
    const pubAdj = await admin('POST', '/billing/adjustments', {
      publisherId: pub,
      amountMicros: 100_000,
      currency: 'USD',
      reason: 'bonus',
    });
    expect(pubAdj.json().entry.lines).toEqual([
      expect.objectContaining({ kind: 'adjustments', amountMicros: 100_000 }),
      expect.objectContaining({ kind: 'publisher', ownerId: pub, amountMicros: -100_000 }),
    ]);
    const audit = (await admin('GET', '/audit-log?kind=ledgerEntry')).json().items;
    const mine = audit.find((a: { entityId: string; action: string }) => a.entityId === adv && a.action === 'adjust');
    expect(mine).toMatchObject({
      actor: t.config.adminEmail,
      advertiserId: adv,
      after: { memo: 'make-good for the outage of 3 March' },
    });
    expect((await t.store.billing.trialBalance()).balanced).toBe(true);
  });

  it('shows each role its own entries, without the lines on other accounts', async () => {
    await admin('POST', '/billing/payments', { advertiserId: adv, amountMicros: 1, currency: 'USD' });
    const advEntries = (await admin('GET', '/billing/entries', undefined, advUser.headers)).json().items;
    expect(advEntries.length).toBeGreaterThan(0);
    for (const e of advEntries) {
      expect(e.advertiserId).toBe(adv);
      expect(
        e.lines.every((l: { kind: string; ownerId: string }) => l.kind === 'advertiser' && l.ownerId === adv),
      ).toBe(true);
    }
    const pubEntries = (await admin('GET', '/billing/entries', undefined, pubUser.headers)).json().items;
    expect(pubEntries.length).toBeGreaterThan(0);
    for (const e of pubEntries) {
      expect(e.lines.every((l: { kind: string }) => l.kind === 'publisher')).toBe(true);
    }
    const all = (await admin('GET', '/billing/entries?limit=500')).json().items;
    expect(all.some((e: { lines: unknown[] }) => e.lines.length === 2)).toBe(true);
    expect((await admin('GET', '/billing/balances', undefined, pubUser.headers)).json().accounts).toEqual([
      expect.objectContaining({ kind: 'publisher', ownerId: pub }),
    ]);
  });

  it('renders the invoice as a printable page without script and as CSV', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const html = await admin('GET', `/billing/invoices?advertiserId=${adv}&month=${month}&format=html`);
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.headers['content-security-policy']).toBe(STYLE_CSP);
    expect(html.body).not.toMatch(/<script/i);
    expect(html.body).toContain('make-good for the outage of 3 March');
    const csv = await admin('GET', `/billing/invoices?advertiserId=${adv}&month=${month}&format=csv`);
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = csv.body.trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'type,campaign_id,campaign,line_item_id,line_item,pricing,currency,impressions,clicks,conversions,amount_micros,amount,note',
    );
    expect(rows.some((r) => r.startsWith('adjustment,') && r.includes(',-250000,'))).toBe(true);
    const statement = await admin('GET', `/billing/statements?month=${month}&format=html`, undefined, pubUser.headers);
    expect(statement.statusCode).toBe(200);
    expect(statement.body).toContain('bonus');
  });
});

describe('fuzz', () => {
  it('answers 2,000+ random billing requests without a 5xx, and non-admins never move money', async () => {
    const before = await t.store.billing.trialBalance();
    // Mostly plausible values (so requests get past validation and exercise the handlers), sometimes junk.
    const mostly = <T, U>(good: fc.Arbitrary<T>, junk: fc.Arbitrary<U>) =>
      fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: junk });
    const junk = fc.oneof(
      fc.double(),
      fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, 1e-7),
      fc.string({ maxLength: 30 }),
      fc.constant(null),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 2 }),
    );
    const amount = mostly(fc.integer({ min: -5_000_000, max: 5_000_000 }), junk);
    const id = mostly(
      fc.constantFrom(adv, eurAdv, pub, 'adv_01HZZZZZZZZZZZZZZZZZZZZZZZ'),
      fc.oneof(fc.constant(''), fc.string({ maxLength: 60 })),
    );
    const party = fc.oneof(
      fc.record({ advertiserId: id }),
      fc.record({ publisherId: id }),
      fc.record({ advertiserId: id, publisherId: id }, { requiredKeys: [] }),
    );
    const fields = fc.record(
      {
        amountMicros: amount,
        currency: mostly(
          fc.constantFrom('USD', 'EUR'),
          fc.oneof(fc.constantFrom('usd', 'XXXX', ''), fc.string({ maxLength: 5 })),
        ),
        reason: mostly(
          fc.string({ minLength: 1, maxLength: 20 }),
          fc.oneof(fc.constant(''), fc.string({ minLength: 501, maxLength: 600 })),
        ),
        reference: fc.string({ maxLength: 250 }),
        idempotencyKey: mostly(fc.constantFrom('k1', 'k2', 'k3'), fc.string({ maxLength: 120 })),
      },
      { requiredKeys: ['amountMicros', 'currency'] },
    );
    const body = fc
      .tuple(
        party,
        fields,
        fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.anything(), { maxKeys: 2 }), { freq: 8 }),
      )
      .map(([p, f, extra]) => ({ ...p, ...f, ...(extra ?? {}) }));
    const limitBody = fc.record({
      creditLimitMicros: mostly(fc.option(fc.nat(10_000_000)), junk),
      currency: fields.map((f) => f.currency),
    });
    const month = mostly(
      fc.constantFrom('2026-01', '2026-03', '1999-12', '9999-12'),
      fc.oneof(fc.constantFrom('2026-13', '0000-01'), fc.string({ maxLength: 10 })),
    );
    const format = fc.option(mostly(fc.constantFrom('json', 'csv', 'html'), fc.constantFrom('pdf', '')), {
      nil: undefined,
    });
    const gets: fc.Arbitrary<{ path: string; query: Record<string, unknown> }> = fc.oneof(
      party.map((q) => ({ path: '/billing/balances', query: q })),
      fc
        .tuple(
          party,
          fc.record(
            {
              kind: fc.constantFrom('usage', 'payment', 'adjustment', 'x'),
              limit: mostly(fc.integer({ min: 1, max: 500 }), fc.integer({ min: -5, max: 600 })),
              before: mostly(fc.integer({ min: 1, max: 10_000 }), fc.string({ maxLength: 20 })),
            },
            { requiredKeys: [] },
          ),
        )
        .map(([p, q]) => ({ path: '/billing/entries', query: { ...p, ...q } })),
      fc
        .record({ advertiserId: id, month, format }, { requiredKeys: ['month'] })
        .map((q) => ({ path: '/billing/invoices', query: q })),
      fc
        .record({ publisherId: id, month, format }, { requiredKeys: ['month'] })
        .map((q) => ({ path: '/billing/statements', query: q })),
    );
    const who = fc.constantFrom('admin', 'admin', 'adv', 'pub');
    const request = fc.oneof(
      fc.record({
        who,
        method: fc.constant('POST' as const),
        path: fc.constantFrom('/billing/payments', '/billing/adjustments'),
        body,
      }),
      fc.record({
        who,
        method: fc.constant('PUT' as const),
        path: id.map((i) => `/billing/credit-limits/${encodeURIComponent(i)}`),
        body: limitBody,
      }),
      fc.tuple(who, gets).map(([w, g]) => ({ who: w, method: 'GET' as const, ...g })),
      fc.record({
        who,
        method: fc.constant('POST' as const),
        path: fc.constant('/billing/payments'),
        raw: fc.string({ maxLength: 80 }),
      }),
    );
    let requests = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        requests++;
        const headers = r.who === 'admin' ? t.admin.headers : r.who === 'adv' ? advUser.headers : pubUser.headers;
        let url = `/api/v1${r.path}`;
        if ('query' in r) {
          const qs = new URLSearchParams(
            Object.entries(r.query)
              .filter(([, v]) => v !== undefined)
              .map(([k, v]) => [k, String(v)]),
          );
          url += `?${qs}`;
        }
        const payload = 'raw' in r ? r.raw : 'body' in r ? JSON.stringify(r.body) : undefined;
        const res = await t.app.inject({
          method: r.method,
          url,
          headers: { ...headers, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(payload !== undefined ? { payload } : {}),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${r.method} ${url} ${payload ?? ''} -> ${res.body.slice(0, 300)}`).toBeLessThan(500);
        // A non-admin's write is refused (403; 400 when the body is not even JSON, parsed before any check).
        if (r.who !== 'admin' && r.method !== 'GET') expect([400, 403]).toContain(res.statusCode);
      }),
      { numRuns: 2_100, seed: 20260305 },
    );
    expect(requests).toBeGreaterThanOrEqual(2_000);
    // Some requests must have got through validation, or the fuzz only tested the schema.
    expect((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0)).toBeGreaterThan(50);
    console.log(`billing fuzz: ${requests} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    const after = await t.store.billing.trialBalance();
    expect(after.balanced).toBe(true);
    expect(before.balanced).toBe(true);
  });
});
