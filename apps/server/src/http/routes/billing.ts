/**
 * Billing API (docs/billing.md): balances and credit, the journal, monthly invoices (advertisers) and
 * earnings statements (publishers) as JSON, CSV or a printable page, and the admin's payments,
 * adjustments and credit limits, each posted as a balanced ledger entry and recorded in the audit log.
 *
 * Tenancy: an advertiser's user sees its advertisers' accounts, entries and invoices; a publisher's user
 * its publishers' accounts, entries and statements; lines of an entry on someone else's account (the
 * advertiser's price for a publisher, the publisher's share and the network's revenue for an advertiser)
 * are left out. Another tenant's id answers 404, like an id that does not exist.
 */
import { randomUUID } from 'node:crypto';
import {
  type AccountRef,
  advertiserAccount,
  availableMicros,
  ENTRY_KINDS,
  type EntryKind,
  isExhausted,
  type JournalEntry,
  type JournalEntryDraft,
  networkAccount,
  publisherAccount,
} from '@marquee/billing';
import { CURRENCY_PATTERN, formatMicros, Id, MAX_MICROS } from '@marquee/core';
import { ALL, type Store } from '@marquee/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { buildInvoice, buildStatement } from '../../billing/billing-documents.ts';
import { invoiceCsv, invoiceHtml, STYLE_CSP, statementCsv, statementHtml } from '../../billing/billing-render.ts';
import { MONTH_PATTERN } from '../../billing/month-range.ts';
import type { RouteModule } from '../../deps.ts';
import { actorOf, principalOf, requireAdminWrite, requireAuth } from '../auth/guards.ts';
import { MarqueeError } from '../errors.ts';
import type { Principal } from '../principal.ts';
import { AUTHENTICATED } from '../schemas.ts';

const Currency = Type.String({ pattern: CURRENCY_PATTERN, description: 'ISO 4217 code of the account' });
const Money = Type.Integer({ description: 'Integer micros (1 unit = 1,000,000)' });
const Format = Type.Optional(
  Type.Enum(['json', 'csv', 'html'], { description: 'json (default), csv or html (printable)' }),
);
const Month = Type.String({ pattern: MONTH_PATTERN, description: 'YYYY-MM, in the network time zone' });
const IdempotencyKey = Type.Optional(
  Type.String({
    pattern: '^[A-Za-z0-9_.:-]{1,100}$',
    description: 'Retrying with the same key posts once (a different body with a used key is a 409)',
  }),
);

const Account = Type.Object(
  {
    accountId: Type.String(),
    kind: Type.String({ description: 'advertiser, publisher, revenue, cash or adjustments' }),
    ownerId: Type.String({ description: "Advertiser or publisher id; '' for the network's accounts" }),
    currency: Type.String(),
    balanceMicros: Money,
    balance: Type.String({ description: 'Decimal; > 0 owed to the network, < 0 owed by it (or prepaid left)' }),
  },
  { title: 'BillingAccount' },
);
const Credit = Type.Object(
  {
    advertiserId: Type.String(),
    currency: Type.String(),
    creditLimitMicros: Money,
    balanceMicros: Money,
    unpostedMicros: Type.Integer({ description: 'Spend in the rollups not posted to the ledger yet' }),
    availableMicros: Money,
    stopped: Type.Boolean({ description: 'Prepaid funds and credit exhausted: delivery is stopped' }),
  },
  { title: 'BillingCredit' },
);
const Line = Type.Object({
  accountId: Type.String(),
  kind: Type.String(),
  ownerId: Type.String(),
  amountMicros: Type.Integer({ description: 'Debit > 0, credit < 0' }),
});
const Entry = Type.Object(
  {
    id: Type.Integer(),
    postingKey: Type.String(),
    kind: Type.String({ description: 'usage, payment or adjustment' }),
    currency: Type.String(),
    hour: Type.Union([Type.String(), Type.Null()], { description: 'UTC hour of usage entries' }),
    advertiserId: Type.Union([Type.String(), Type.Null()]),
    publisherId: Type.Union([Type.String(), Type.Null()]),
    memo: Type.String(),
    createdAt: Type.String(),
    createdBy: Type.String(),
    lines: Type.Array(Line),
  },
  { title: 'LedgerEntry' },
);
const PostedEntry = Type.Object({ created: Type.Boolean(), entry: Entry }, { title: 'PostedLedgerEntry' });

const Party = {
  advertiserId: Type.Optional(Id),
  publisherId: Type.Optional(Id),
};
const PaymentBody = Type.Object(
  {
    ...Party,
    amountMicros: Type.Integer({
      minimum: 1,
      maximum: MAX_MICROS,
      description:
        'Received from the advertiser (credits its account) or paid out to the publisher (debits its account)',
    }),
    currency: Currency,
    reference: Type.Optional(Type.String({ maxLength: 200, description: 'Bank reference, cheque number, ...' })),
    idempotencyKey: IdempotencyKey,
  },
  { additionalProperties: false },
);
const AdjustmentBody = Type.Object(
  {
    ...Party,
    amountMicros: Type.Integer({
      minimum: -MAX_MICROS,
      maximum: MAX_MICROS,
      not: { const: 0 },
      description:
        'Advertiser: > 0 a charge, < 0 a credit. Publisher: > 0 adds to its earnings, < 0 takes from them. Never 0.',
    }),
    currency: Currency,
    reason: Type.String({ minLength: 1, maxLength: 500 }),
    idempotencyKey: IdempotencyKey,
  },
  { additionalProperties: false },
);
const CreditLimitBody = Type.Object(
  {
    creditLimitMicros: Type.Union([Type.Integer({ minimum: 0, maximum: MAX_MICROS }), Type.Null()], {
      description: '0: prepaid only; null: no limit (post-paid, never stopped)',
    }),
    currency: Currency,
  },
  { additionalProperties: false },
);

const toEntry = (e: JournalEntry, visible: (a: AccountRef) => boolean) => ({
  id: e.id,
  postingKey: e.postingKey,
  kind: e.kind,
  currency: e.currency,
  hour: e.hourMs === null ? null : new Date(e.hourMs).toISOString(),
  advertiserId: e.advertiserId,
  publisherId: e.publisherId,
  memo: e.memo,
  createdAt: e.createdAt,
  createdBy: e.createdBy,
  lines: e.lines
    .filter((l) => visible(l.account))
    .map((l) => ({
      accountId: `${l.account.kind}:${l.account.ownerId}:${l.account.currency}`,
      kind: l.account.kind,
      ownerId: l.account.ownerId,
      amountMicros: l.amountMicros,
    })),
});

/** The accounts a caller may see lines of. */
function accountVisibility(p: Principal): (a: AccountRef) => boolean {
  if (p.scope.kind === 'all') return () => true;
  const advs = new Set(p.scope.advertiserIds);
  const pubs = new Set(p.scope.publisherIds);
  return (a) => (a.kind === 'advertiser' && advs.has(a.ownerId)) || (a.kind === 'publisher' && pubs.has(a.ownerId));
}

function onePartyOf(body: { advertiserId?: string; publisherId?: string }) {
  if ((body.advertiserId === undefined) === (body.publisherId === undefined)) {
    throw new MarqueeError('MQ_ERR_VALIDATION', 'Send exactly one of advertiserId and publisherId', [
      { path: '/advertiserId', message: 'exactly one of advertiserId and publisherId is required' },
    ]);
  }
  return body.advertiserId !== undefined
    ? ({ side: 'advertiser', id: body.advertiserId } as const)
    : ({ side: 'publisher', id: body.publisherId! } as const);
}

/**
 * The currency an amount for this party may be in: the advertiser's own currency, or the network's for a
 * publisher, or any currency it already has an account in (line items may sell in another currency).
 */
async function checkCurrency(store: Store, party: { side: 'advertiser' | 'publisher'; id: string }, currency: string) {
  let allowed: string[];
  if (party.side === 'advertiser') {
    const adv = await store.repos.advertiser.get(party.id, ALL);
    if (!adv) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such advertiser');
    allowed = [adv.currency];
  } else {
    const pub = await store.repos.publisher.get(party.id, ALL);
    if (!pub) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such publisher');
    allowed = [(await store.network.get()).currency];
  }
  const accounts = await store.billing.balances(
    party.side === 'advertiser' ? { advertiserIds: [party.id] } : { publisherIds: [party.id] },
  );
  allowed.push(...accounts.map((a) => a.currency));
  if (!allowed.includes(currency)) {
    throw new MarqueeError('MQ_ERR_UNPROCESSABLE', `The ${party.side}'s account is not in ${currency}`, [
      { path: '/currency', message: `must be one of ${[...new Set(allowed)].join(', ')}`, code: 'currency_mismatch' },
    ]);
  }
}

/** Posts an admin's entry (idempotent by key), records it in the audit log, answers 201 or 200 (retry). */
async function postAdminEntry(
  store: Store,
  request: FastifyRequest,
  reply: FastifyReply,
  draft: JournalEntryDraft,
  action: 'payment' | 'adjust',
  entityId: string,
) {
  const actor = actorOf(request);
  const result = await store.billing.post(draft, actor.label);
  if (result.kind === 'exists') {
    const same =
      result.entry.kind === draft.kind &&
      result.entry.currency === draft.currency &&
      result.entry.memo === draft.memo &&
      JSON.stringify(result.entry.lines.map((l) => [l.account, l.amountMicros]).sort()) ===
        JSON.stringify(draft.lines.map((l) => [l.account, l.amountMicros]).sort());
    if (!same) {
      throw new MarqueeError('MQ_ERR_DUPLICATE', 'This idempotencyKey was used for another entry', [
        { path: '/idempotencyKey', message: 'already used with a different body' },
      ]);
    }
    return reply.code(200).send({ created: false, entry: toEntry(result.entry, () => true) });
  }
  await store.audit.record({
    actor: actor.label,
    userId: actor.userId,
    requestId: actor.requestId ?? null,
    action,
    kind: 'ledgerEntry',
    entityId,
    before: null,
    after: {
      entryId: result.entry.id,
      kind: draft.kind,
      currency: draft.currency,
      memo: draft.memo,
      lines: draft.lines.map((l) => ({ account: l.account, amountMicros: l.amountMicros })),
    },
    advertiserId: draft.advertiserId,
    publisherId: draft.publisherId,
  });
  return reply.code(201).send({ created: true, entry: toEntry(result.entry, () => true) });
}

/** The advertiser (or publisher) a tenant may read: 404 for one outside its scope, as for one that does not exist. */
function scopedId(p: Principal, side: 'advertiser' | 'publisher', given: string | undefined): string {
  const mine = p.scope.kind === 'all' ? null : side === 'advertiser' ? p.scope.advertiserIds : p.scope.publisherIds;
  if (given === undefined) {
    if (mine && mine.length === 1) return mine[0]!;
    throw new MarqueeError('MQ_ERR_VALIDATION', `${side}Id is required`, [{ path: `/${side}Id`, message: 'required' }]);
  }
  if (mine && !mine.includes(given)) throw new MarqueeError('MQ_ERR_NOT_FOUND', `No such ${side}`);
  return given;
}

function sendDocument(
  reply: FastifyReply,
  format: string | undefined,
  name: string,
  json: unknown,
  csv: () => string,
  html: () => string,
) {
  if (format === 'csv') {
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}.csv"`)
      .send(csv() as never);
  }
  if (format === 'html') {
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', STYLE_CSP)
      .send(html() as never);
  }
  return reply.send(json as never);
}

export const billingRoutes: RouteModule = async (app, { store }) => {
  app.get(
    '/billing/balances',
    {
      preHandler: requireAuth,
      schema: {
        summary:
          'Ledger balances and, for advertisers with a credit limit, credit available and whether delivery is stopped',
        tags: ['billing'],
        security: AUTHENTICATED,
        querystring: Type.Object({ ...Party }, { additionalProperties: false }),
        response: { 200: Type.Object({ accounts: Type.Array(Account), credit: Type.Array(Credit) }) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { advertiserId, publisherId } = request.query;
      let advertiserIds: string[] | undefined;
      let publisherIds: string[] | undefined;
      if (p.scope.kind === 'all') {
        advertiserIds = advertiserId ? [advertiserId] : undefined;
        publisherIds = publisherId ? [publisherId] : undefined;
      } else {
        // A filter never widens the scope: it is intersected with it.
        advertiserIds = p.scope.advertiserIds.filter((id) => advertiserId === undefined || id === advertiserId);
        publisherIds = p.scope.publisherIds.filter((id) => publisherId === undefined || id === publisherId);
        if (advertiserId !== undefined && publisherId === undefined) publisherIds = [];
        if (publisherId !== undefined && advertiserId === undefined) advertiserIds = [];
      }
      const filtered = p.scope.kind !== 'all' || advertiserIds !== undefined || publisherIds !== undefined;
      const accounts = await store.billing.balances(
        filtered
          ? { advertiserIds: advertiserIds ?? [], publisherIds: publisherIds ?? [], network: false }
          : { network: true },
      );
      const exposures = (await store.billing.exposures()).filter(
        (e) => !filtered || (advertiserIds ?? []).includes(e.advertiserId),
      );
      return {
        accounts: accounts.map((a) => ({ ...a, balance: formatMicros(a.balanceMicros) })),
        credit: exposures.map((e) => ({
          advertiserId: e.advertiserId,
          currency: e.currency,
          creditLimitMicros: e.creditLimitMicros ?? 0,
          balanceMicros: e.balanceMicros,
          unpostedMicros: e.unpostedMicros,
          availableMicros: availableMicros(e) ?? 0,
          stopped: isExhausted(e),
        })),
      };
    },
  );

  app.get(
    '/billing/entries',
    {
      preHandler: requireAuth,
      schema: {
        summary: 'The journal, newest first (tenants see their entries and only the lines on their own accounts)',
        tags: ['billing'],
        security: AUTHENTICATED,
        querystring: Type.Object(
          {
            ...Party,
            kind: Type.Optional(Type.Enum([...ENTRY_KINDS])),
            before: Type.Optional(
              Type.Integer({ minimum: 1, maximum: MAX_MICROS, description: 'Entries with a smaller id (paging)' }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(Entry), nextBefore: Type.Union([Type.Integer(), Type.Null()]) }),
        },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { advertiserId, publisherId, kind, before, limit = 100 } = request.query;
      let advertiserIds: string[] | undefined = advertiserId ? [advertiserId] : undefined;
      let publisherIds: string[] | undefined = publisherId ? [publisherId] : undefined;
      if (p.scope.kind !== 'all') {
        advertiserIds = p.scope.advertiserIds.filter((id) => advertiserId === undefined || id === advertiserId);
        publisherIds = p.scope.publisherIds.filter((id) => publisherId === undefined || id === publisherId);
        if (advertiserId !== undefined && publisherId === undefined) publisherIds = [];
        if (publisherId !== undefined && advertiserId === undefined) advertiserIds = [];
      }
      const entries = await store.billing.entries({
        ...(advertiserIds !== undefined || publisherIds !== undefined
          ? { advertiserIds: advertiserIds ?? [], publisherIds: publisherIds ?? [] }
          : {}),
        ...(kind ? { kinds: [kind as EntryKind] } : {}),
        ...(before !== undefined ? { beforeId: before } : {}),
        limit,
      });
      const visible = accountVisibility(p);
      return {
        items: entries.map((e) => toEntry(e, visible)),
        nextBefore: entries.length === limit ? entries[entries.length - 1]!.id : null,
      };
    },
  );

  app.get(
    '/billing/invoices',
    {
      preHandler: requireAuth,
      schema: {
        summary:
          "An advertiser's monthly invoice: usage by campaign and line item (valid events only), adjustments, payments, totals",
        tags: ['billing'],
        security: AUTHENTICATED,
        querystring: Type.Object(
          { advertiserId: Type.Optional(Id), month: Month, format: Format },
          { additionalProperties: false },
        ),
        response: { 200: Type.Unknown({ description: 'Invoice (JSON), text/csv or text/html' }) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      if (p.role === 'publisher')
        throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Invoices are for the network and advertisers');
      const id = scopedId(p, 'advertiser', request.query.advertiserId);
      const adv = await store.repos.advertiser.get(id, ALL);
      if (!adv) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such advertiser');
      const network = await store.network.get();
      const invoice = await buildInvoice(store, adv, request.query.month, network.timeZone);
      return sendDocument(
        reply,
        request.query.format,
        `invoice-${adv.id}-${invoice.month}`,
        invoice,
        () => invoiceCsv(invoice),
        () => invoiceHtml(invoice),
      );
    },
  );

  app.get(
    '/billing/statements',
    {
      preHandler: requireAuth,
      schema: {
        summary:
          "A publisher's monthly earnings statement: revenue share by site and placement, adjustments, payouts, totals",
        tags: ['billing'],
        security: AUTHENTICATED,
        querystring: Type.Object(
          { publisherId: Type.Optional(Id), month: Month, format: Format },
          { additionalProperties: false },
        ),
        response: { 200: Type.Unknown({ description: 'Statement (JSON), text/csv or text/html' }) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      if (p.role === 'advertiser')
        throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Statements are for the network and publishers');
      const id = scopedId(p, 'publisher', request.query.publisherId);
      const pub = await store.repos.publisher.get(id, ALL);
      if (!pub) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such publisher');
      const network = await store.network.get();
      const statement = await buildStatement(store, pub, network.currency, request.query.month, network.timeZone);
      return sendDocument(
        reply,
        request.query.format,
        `statement-${pub.id}-${statement.month}`,
        statement,
        () => statementCsv(statement),
        () => statementHtml(statement),
      );
    },
  );

  app.post(
    '/billing/payments',
    {
      preValidation: requireAdminWrite,
      schema: {
        summary: 'Record a payment received from an advertiser (prepaid funds) or paid out to a publisher (admins)',
        tags: ['billing'],
        security: AUTHENTICATED,
        body: PaymentBody,
        response: { 200: PostedEntry, 201: PostedEntry },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const party = onePartyOf(body);
      await checkCurrency(store, party, body.currency);
      const a = body.amountMicros;
      const cash = networkAccount('cash', body.currency);
      const lines =
        party.side === 'advertiser'
          ? [
              { account: cash, amountMicros: a },
              { account: advertiserAccount(party.id, body.currency), amountMicros: -a },
            ]
          : [
              { account: publisherAccount(party.id, body.currency), amountMicros: a },
              { account: cash, amountMicros: -a },
            ];
      const draft: JournalEntryDraft = {
        postingKey: `payment:${body.idempotencyKey ?? randomUUID()}`,
        kind: 'payment',
        currency: body.currency,
        hourMs: null,
        advertiserId: party.side === 'advertiser' ? party.id : null,
        publisherId: party.side === 'publisher' ? party.id : null,
        memo: body.reference ?? '',
        lines,
      };
      return postAdminEntry(store, request, reply, draft, 'payment', party.id);
    },
  );

  app.post(
    '/billing/adjustments',
    {
      preValidation: requireAdminWrite,
      schema: {
        summary: 'Post a manual adjustment with a reason (admins; recorded in the audit log)',
        tags: ['billing'],
        security: AUTHENTICATED,
        body: AdjustmentBody,
        response: { 200: PostedEntry, 201: PostedEntry },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const party = onePartyOf(body);
      await checkCurrency(store, party, body.currency);
      const a = body.amountMicros;
      const other = networkAccount('adjustments', body.currency);
      // Advertiser: a charge debits its account. Publisher: earnings added credit its account.
      const lines =
        party.side === 'advertiser'
          ? [
              { account: advertiserAccount(party.id, body.currency), amountMicros: a },
              { account: other, amountMicros: -a },
            ]
          : [
              { account: publisherAccount(party.id, body.currency), amountMicros: -a },
              { account: other, amountMicros: a },
            ];
      const draft: JournalEntryDraft = {
        postingKey: `adjustment:${body.idempotencyKey ?? randomUUID()}`,
        kind: 'adjustment',
        currency: body.currency,
        hourMs: null,
        advertiserId: party.side === 'advertiser' ? party.id : null,
        publisherId: party.side === 'publisher' ? party.id : null,
        memo: body.reason,
        lines,
      };
      return postAdminEntry(store, request, reply, draft, 'adjust', party.id);
    },
  );

  app.put(
    '/billing/credit-limits/:advertiserId',
    {
      preValidation: requireAdminWrite,
      schema: {
        summary: "Set an advertiser's credit limit (0: prepaid only; null: no limit) (admins; audited)",
        tags: ['billing'],
        security: AUTHENTICATED,
        params: Type.Object({ advertiserId: Id }, { additionalProperties: false }),
        body: CreditLimitBody,
        response: {
          200: Type.Object({
            advertiserId: Type.String(),
            currency: Type.String(),
            creditLimitMicros: Type.Union([Money, Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { advertiserId } = request.params;
      const { creditLimitMicros, currency } = request.body;
      const adv = await store.repos.advertiser.get(advertiserId, ALL);
      if (!adv) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such advertiser');
      if (currency !== adv.currency) {
        throw new MarqueeError('MQ_ERR_UNPROCESSABLE', `The advertiser's currency is ${adv.currency}`, [
          { path: '/currency', message: `must be ${adv.currency}`, code: 'currency_mismatch' },
        ]);
      }
      const before = (await store.billing.creditLimits([advertiserId]))[0] ?? null;
      await store.billing.setCreditLimit(
        advertiserId,
        creditLimitMicros === null ? null : { currency, creditLimitMicros },
      );
      const actor = actorOf(request);
      await store.audit.record({
        actor: actor.label,
        userId: actor.userId,
        requestId: actor.requestId ?? null,
        action: 'credit_limit',
        kind: 'advertiser',
        entityId: advertiserId,
        before,
        after: { currency, creditLimitMicros },
        advertiserId,
        publisherId: null,
      });
      return { advertiserId, currency, creditLimitMicros };
    },
  );
};
