/**
 * GET /api/v1/events/export: raw tracking events from the event log as NDJSON (one event per line), for
 * model training and audits. Streamed: the log is read in pages and each page written as it is read.
 * The network (admin, readonly) gets every event; an advertiser's user only events of its advertisers,
 * a publisher's user only events of its publishers; tenants never get the IP address or user agent, and
 * publishers not the advertiser's prices.
 */
import { Readable } from 'node:stream';
import { decodeEvent, type EventLog, START_POSITION, type TrackingEvent } from '@marquee/events';
import { dayNumber } from '@marquee/reporting';
import { Type } from 'typebox';
import type { RouteModule } from '../../deps.ts';
import { principalOf, requireAuth } from '../auth/guards.ts';
import { MarqueeError } from '../errors.ts';
import { AUTHENTICATED } from '../schemas.ts';

const DAY_MS = 86_400_000;
const PAGE = 5_000;
/** The longest range one export covers (the whole log is scanned: positions carry no time). */
const MAX_DAYS = 93;

const ExportQuery = Type.Object(
  {
    from: Type.String({ maxLength: 10, description: 'First UTC day, YYYY-MM-DD (event time)' }),
    to: Type.String({ maxLength: 10, description: 'Last UTC day, inclusive, YYYY-MM-DD' }),
    format: Type.Optional(Type.Literal('ndjson')),
  },
  { additionalProperties: false },
);

type Keep = (e: TrackingEvent) => boolean;
type Shape = (e: TrackingEvent) => unknown;

function stripPersonal(e: TrackingEvent): Omit<TrackingEvent, 'ip' | 'ua'> {
  const { ip: _ip, ua: _ua, ...rest } = e;
  return rest;
}

async function* ndjson(log: EventLog, fromMs: number, toMs: number, keep: Keep, shape: Shape) {
  let position = START_POSITION;
  for (;;) {
    const { events, next } = await log.read(position, PAGE);
    if (events.length === 0) return;
    const lines: string[] = [];
    for (const record of events) {
      let e: TrackingEvent;
      try {
        e = decodeEvent(record.data);
      } catch {
        continue; // not a tracking event: nothing to export
      }
      if (e.tsMs < fromMs || e.tsMs >= toMs || !keep(e)) continue;
      lines.push(JSON.stringify(shape(e)));
    }
    if (lines.length > 0) yield `${lines.join('\n')}\n`;
    position = next;
  }
}

export const eventExportRoutes =
  (log: EventLog): RouteModule =>
  async (app) => {
    app.get(
      '/events/export',
      {
        preHandler: requireAuth,
        schema: {
          summary: 'Export raw tracking events as NDJSON (model training), tenant-filtered',
          tags: ['reports'],
          security: AUTHENTICATED,
          querystring: ExportQuery,
          produces: ['application/x-ndjson'],
          response: { 200: Type.String({ description: 'One JSON tracking event per line' }) },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const from = dayNumber(request.query.from);
        const to = dayNumber(request.query.to);
        if (from === undefined || to === undefined || to < from || to - from + 1 > MAX_DAYS) {
          throw new MarqueeError('MQ_ERR_VALIDATION', 'The export range is not valid', [
            { path: 'from', message: `from and to are UTC days YYYY-MM-DD, from <= to, at most ${MAX_DAYS} days` },
          ]);
        }
        let keep: Keep = () => true;
        let shape: Shape = (e) => e;
        if (principal.scope.kind === 'tenant') {
          if (principal.role === 'publisher') {
            const own = new Set(principal.scope.publisherIds);
            keep = (e) => own.has(e.publisherId);
            shape = (e) => {
              const { priceMicros: _p, rateMicros: _r, valueMicros: _v, ...rest } = stripPersonal(e);
              return rest;
            };
          } else {
            const own = new Set(principal.scope.advertiserIds);
            keep = (e) => own.has(e.advertiserId);
            shape = stripPersonal;
          }
        }
        const body = Readable.from(ndjson(log, from * DAY_MS, (to + 1) * DAY_MS, keep, shape));
        return reply
          .type('application/x-ndjson; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="marquee-events-${request.query.from}-${request.query.to}.ndjson"`,
          )
          .send(body as never); // a stream, not the documented string schema
      },
    );
  };
