/**
 * The reporting API: GET /reports (any measures by any dimensions over a date range in a time zone, JSON
 * or CSV, with totals) and GET /reports/delivery (delivery against plan per line item). Tenant-scoped:
 * see restrictToViewer in @marquee/reporting for what each side sees.
 */
import type { LineItem } from '@marquee/core';
import {
  deliveryOf,
  localDayAt,
  parseReportQuery,
  type ReportViewer,
  restrictToViewer,
  runReport,
  toCsv,
} from '@marquee/reporting';
import type { Scope } from '@marquee/store';
import { Type } from 'typebox';
import type { RouteModule } from '../../deps.ts';
import { pacingViewsOf } from '../../pacing/pacing-views.ts';
import { principalOf, requireAuth } from '../auth/guards.ts';
import { MarqueeError } from '../errors.ts';
import type { Principal } from '../principal.ts';
import { AUTHENTICATED } from '../schemas.ts';

const Param = (description: string) => Type.Optional(Type.String({ maxLength: 20_000, description }));

const ReportQuery = Type.Object(
  {
    measures: Param(
      'Comma-separated: requests, impressions, viewable_impressions, clicks, conversions, custom_events, spend, ' +
        'revenue, invalid_events, ctr, cvr, ecpm, revenue_ecpm, fill_rate, viewability, ivt_rate (default impressions,clicks,spend)',
    ),
    dimensions: Param(
      'Comma-separated: hour|day|week|month, advertiser, campaign, line_item, creative, publisher, site, placement, ' +
        'country, device, reason (with invalid_events only)',
    ),
    from: Param('First day, YYYY-MM-DD in timeZone (default: 6 days before `to`)'),
    to: Param('Last day, inclusive, YYYY-MM-DD in timeZone (default: today)'),
    timeZone: Param('IANA time zone of the range and of the time labels (default: the network time zone)'),
    filters: Param('dimension:value|value, comma-separated, e.g. country:FR|DE,line_item:li_...'),
    format: Param('json (default) or csv'),
    sort: Param('A requested measure or dimension; prefix - for descending'),
    limit: Param('Rows, 1..10000 (default 1000); totals always cover every row'),
  },
  { additionalProperties: false },
);

const Cell = Type.Union([Type.String(), Type.Number(), Type.Null()]);
const ReportResponse = Type.Object(
  {
    from: Type.String(),
    to: Type.String(),
    timeZone: Type.String(),
    columns: Type.Array(Type.String()),
    rows: Type.Array(Type.Record(Type.String(), Cell)),
    totals: Type.Record(Type.String(), Cell),
    truncated: Type.Boolean(),
  },
  { title: 'Report' },
);

const Totals = Type.Object({ spendMicros: Type.Integer(), impressions: Type.Integer() });
const PacingControl = Type.Object(
  {
    status: Type.String({ description: "on_track, behind or ahead of today's plan (traffic-curve weighted)" }),
    rate: Type.Number({ description: 'Pass-through rate of the throttle, 0..1' }),
    day: Type.String({ description: "Budget day, YYYY-MM-DD in the line item's time zone" }),
    dailyTargetMicros: Type.Union([Type.Integer(), Type.Null()]),
    spentTodayMicros: Type.Integer(),
    plannedTodayMicros: Type.Integer({ description: 'What the plan says should be spent by now' }),
  },
  { title: 'PacingControl' },
);
const Delivery = Type.Object(
  {
    lineItemId: Type.String(),
    name: Type.String(),
    advertiserId: Type.String(),
    campaignId: Type.String(),
    lineItemStatus: Type.String(),
    pacing: Type.String(),
    timeZone: Type.String(),
    goalKind: Type.String({ description: 'budget (micros), impressions, or none' }),
    lifetimeGoal: Type.Union([Type.Integer(), Type.Null()]),
    dailyGoal: Type.Union([Type.Integer(), Type.Null()]),
    delivered: Totals,
    today: Type.Object({ spendMicros: Type.Integer(), impressions: Type.Integer(), day: Type.String() }),
    expectedByNow: Type.Union([Type.Integer(), Type.Null()]),
    basis: Type.String({ description: 'lifetime (flight), daily, or none' }),
    paceRatio: Type.Union([Type.Number(), Type.Null()]),
    status: Type.String({ description: 'not_started, on_track, behind, ahead, completed' }),
    control: Type.Union([PacingControl, Type.Null()], {
      description:
        "The pacing control loop's view of today on this server (null until the line item was asked for " +
        'and had a control tick)',
    }),
  },
  { title: 'LineItemDelivery' },
);
const DeliveryQuery = Type.Object(
  {
    advertiserId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    campaignId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    includeArchived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Line items a report of delivery may cover at once. */
const MAX_DELIVERY_LINE_ITEMS = 10_000;

export function viewerOf(principal: Principal): ReportViewer {
  if (principal.scope.kind === 'all') return { side: 'network' };
  if (principal.role === 'publisher') return { side: 'publisher', publisherIds: principal.scope.publisherIds };
  return { side: 'advertiser', advertiserIds: principal.scope.advertiserIds };
}

/** PostgreSQL refusing a zone Intl accepted (tz databases differ slightly): still the caller's mistake. */
function isBadTimeZone(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === '22023' && /time zone/i.test(e.message ?? '');
}

export const reportRoutes: RouteModule = async (app, deps) => {
  const { store } = deps;
  app.get(
    '/reports',
    {
      preHandler: requireAuth,
      schema: {
        summary: 'Report: measures by dimensions over a date range (JSON or CSV, with totals)',
        tags: ['reports'],
        security: AUTHENTICATED,
        querystring: ReportQuery,
        response: { 200: ReportResponse },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const network = await store.network.get();
      const parsed = parseReportQuery(request.query as Record<string, string | undefined>, {
        timeZone: network.timeZone,
        today: localDayAt(Date.now(), network.timeZone).day,
      });
      if (!parsed.ok)
        throw new MarqueeError('MQ_ERR_VALIDATION', 'The report parameters are not valid', parsed.problems);
      const scoped = restrictToViewer(parsed.value, viewerOf(principal));
      if (!scoped.ok) throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Your role cannot see this', scoped.problems);
      const spec = scoped.value;
      let report: Awaited<ReturnType<typeof runReport>>;
      try {
        report = await runReport(store, spec);
      } catch (error) {
        if (isBadTimeZone(error)) {
          throw new MarqueeError('MQ_ERR_VALIDATION', 'Unknown time zone', [
            { path: 'timeZone', message: `"${spec.timeZone}" is not a known time zone` },
          ]);
        }
        throw error;
      }
      if (spec.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="marquee-report-${spec.from}-${spec.to}.csv"`)
          .send(toCsv(report) as never); // text, not the JSON response schema
      }
      return {
        from: spec.from,
        to: spec.to,
        timeZone: spec.timeZone,
        columns: [...report.columns],
        rows: [...report.rows],
        totals: report.totals,
        truncated: report.truncated,
      };
    },
  );

  app.get(
    '/reports/delivery',
    {
      preHandler: requireAuth,
      schema: {
        summary: 'Delivery against plan for every line item (goal, delivered, today, expected by now, status)',
        tags: ['reports'],
        security: AUTHENTICATED,
        querystring: DeliveryQuery,
        response: { 200: Type.Object({ asOf: Type.String(), items: Type.Array(Delivery) }) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      if (principal.role === 'publisher') {
        throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Delivery against plan is for the network and advertisers');
      }
      const scope: Scope = principal.scope;
      const { advertiserId, campaignId, includeArchived } = request.query;
      const filters: Record<string, string> = {};
      if (advertiserId) filters['advertiserId'] = advertiserId;
      if (campaignId) filters['campaignId'] = campaignId;
      const lineItems: LineItem[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.repos.lineItem.list(
          { filters, limit: 500, includeArchived: includeArchived ?? false, ...(cursor ? { cursor } : {}) },
          scope,
        );
        lineItems.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor && lineItems.length < MAX_DELIVERY_LINE_ITEMS);
      const nowMs = Date.now();
      const control = pacingViewsOf(deps);
      const items = (await deliveryOf(store, lineItems, nowMs)).map((d) => {
        const v = control(d.lineItemId);
        return {
          ...d,
          control: v
            ? {
                status: v.status,
                rate: v.rate,
                day: v.day,
                dailyTargetMicros: v.dailyTargetMicros,
                spentTodayMicros: v.spentTodayMicros,
                plannedTodayMicros: v.plannedTodayMicros,
              }
            : null,
        };
      });
      return { asOf: new Date(nowMs).toISOString(), items };
    },
  );
};
