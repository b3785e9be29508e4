/**
 * The public tracking endpoints: the signed URLs decisions hand out, the conversion pixel and the
 * conversion postback. Every hit is answered only after its event is durable in the log; every answer to a
 * browser is harmless (a 1x1 GIF, a 204, a redirect to a destination Marquee signed, or a plain page),
 * whatever the verdict. See docs/tracking.md.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { ServingSnapshot } from '@marquee/decision';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../deps.ts';
import { MarqueeError } from '../http/errors.ts';
import { PUBLIC } from '../http/schemas.ts';
import { expandLandingMacros } from './click-macros.ts';
import { type HitMeta, refusedEvent, type TokenKind, type TrackingService } from './tracking-service.ts';

/** The smallest transparent GIF (43 bytes). */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const INVALID_LINK_PAGE =
  '<!doctype html><meta charset="utf-8"><title>Link expired</title>' +
  '<p>This ad link is no longer valid. You can close this page.</p>';

export interface TrackingRouteDeps {
  readonly service: TrackingService;
  readonly snapshot: () => ServingSnapshot;
  readonly now: () => number;
}

/** Documented parameters are not validated: a malformed hit must still be answered and recorded. */
const acceptAnything = () => () => true;

const TokenParams = Type.Object({ token: Type.String({ description: 'The signed token `<kid>.<payload>.<sig>`' }) });

/** Headers of every pixel and beacon answer (set with one call). */
const PIXEL_HEADERS = {
  'cache-control': 'no-store, no-cache, max-age=0',
  pragma: 'no-cache',
  'access-control-allow-origin': '*',
  'cross-origin-resource-policy': 'cross-origin',
};
export const PIXEL_GIF_HEADERS = { ...PIXEL_HEADERS, 'content-type': 'image/gif' };

function pixelHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers(PIXEL_HEADERS);
}

function metaOf(request: FastifyRequest, source: string): HitMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, ua: typeof ua === 'string' ? ua : '', source };
}

/** The first value of a query parameter ('' when absent), whatever the parser made of it. */
function q(query: unknown, name: string): string {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : '';
}

/** The log could not make the event durable: not acknowledged, the client may retry (nothing counted). */
function unavailable(request: FastifyRequest, err: unknown): MarqueeError {
  request.log.warn({ err }, 'tracking event not stored');
  return new MarqueeError('MQ_ERR_UNAVAILABLE', 'The event could not be stored; retry', [], { 'retry-after': '1' });
}

export function trackingRoutes(deps: TrackingRouteDeps) {
  const { service } = deps;
  return async (app: App): Promise<void> => {
    // Beacons and no-cors fetches carry no body, or one we ignore: never a 415 or a JSON error.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_req, _body, done) =>
      done(null, undefined),
    );

    const beacon = (kind: Exclude<TokenKind, 'click'>, summary: string) =>
      app.route({
        method: ['GET', 'POST'],
        url: `/t/${kind}/:token`,
        exposeHeadRoute: false,
        config: { rateLimit: false },
        validatorCompiler: acceptAnything,
        schema: {
          summary,
          description:
            'Records the event once its token is checked and the event is durable. GET answers a 1x1 GIF, POST ' +
            '(sendBeacon, fetch keepalive) a 204, whatever the verdict: forged, expired, duplicate and preview hits ' +
            'are recorded as invalid and never billed. 503 only when the event log cannot store the event.' +
            (kind === 'custom'
              ? ' The event name is in `name` (e.g. VAST start, firstQuartile, midpoint, complete).'
              : ''),
          tags: ['tracking'],
          security: PUBLIC,
          params: TokenParams,
          ...(kind === 'custom'
            ? { querystring: Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }) }) }
            : {}),
          produces: ['image/gif'],
          response: {
            200: Type.String({ description: '1x1 transparent GIF (GET)' }),
            204: Type.Null({ description: 'Recorded (POST)' }),
          },
        },
        // Not async: the answer is sent from the commit's callback (one promise per hit, not three). The response
        // schemas document the answers; the GIF bytes bypass the serializer.
        handler: (request, reply) => {
          const token = (request.params as { token: string }).token;
          const name = kind === 'custom' ? q(request.query, 'name') : undefined;
          const isGet = request.method === 'GET';
          const r = reply as unknown as FastifyReply;
          service.trackToken(kind, token, name, metaOf(request, isGet ? 'pixel' : 'beacon')).then(
            () => {
              if (isGet) r.headers(PIXEL_GIF_HEADERS).send(PIXEL_GIF);
              else r.headers(PIXEL_HEADERS).code(204).send();
            },
            (err: unknown) => {
              r.send(unavailable(request, err));
            },
          );
        },
      });
    beacon('impression', 'Impression pixel or beacon');
    beacon('viewable', 'Viewable impression beacon (IAB: 50% of pixels for 1 s)');
    beacon('custom', 'Custom event (VAST quartiles and named events)');

    app.route({
      method: ['GET', 'POST'],
      url: '/t/click/:token',
      exposeHeadRoute: false,
      config: { rateLimit: false },
      validatorCompiler: acceptAnything,
      schema: {
        summary: 'Click redirect',
        description:
          'Records the click, then redirects (302) to the landing URL inside the signed token, with its macros ' +
          'expanded ({click_id}, {decision_id}, {line_item_id}, {campaign_id}, {creative_id}, {advertiser_id}, ' +
          '{placement_id}, {site_id}, {publisher_id}, {cachebuster}). Only destinations Marquee signed are ever ' +
          'used: a forged or unreadable token gets a plain page saying the link is no longer valid (200), never a ' +
          'redirect. Expired and duplicate clicks still reach the signed destination but are not billed.',
        tags: ['tracking'],
        security: PUBLIC,
        params: TokenParams,
        produces: ['text/html'],
        response: {
          200: Type.String({ description: 'The link is not valid: a plain page, no redirect' }),
          302: Type.Null({ description: 'Redirect to the signed landing URL' }),
        },
      },
      handler: async (request, reply) => {
        const token = (request.params as { token: string }).token;
        let judged: Awaited<ReturnType<TrackingService['trackToken']>>;
        try {
          judged = await service.trackToken('click', token, undefined, metaOf(request, 'redirect'));
        } catch (err) {
          throw unavailable(request, err);
        }
        reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer-when-downgrade');
        const url = judged.claims?.url;
        if (url && /^https?:\/\//.test(url)) {
          return reply.redirect(expandLandingMacros(url, judged.claims!, String(randomInt(1e9))), 302);
        }
        return reply.type('text/html; charset=utf-8').send(INVALID_LINK_PAGE);
      },
    });

    app.get(
      '/t/conversion',
      {
        exposeHeadRoute: false,
        config: { rateLimit: false },
        validatorCompiler: acceptAnything,
        schema: {
          summary: 'Conversion pixel',
          description:
            "Put on the advertiser's confirmation page. Attributed to the click named by `click` ({click_id} of the " +
            'landing URL), else to the last click of the user key `user` within the click window, else to its last ' +
            'view within the view window. Deduplicated by (advertiser, order). Always answers a 1x1 GIF.',
          tags: ['tracking'],
          security: PUBLIC,
          querystring: Type.Object({
            advertiser: Type.String({ description: 'Advertiser id' }),
            value: Type.Optional(Type.String({ description: 'Order value, decimal ("19.99")' })),
            order: Type.Optional(Type.String({ maxLength: 128, description: 'Order id (deduplication)' })),
            currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
            user: Type.Optional(Type.String({ maxLength: 128, description: 'User key (marquee_uid)' })),
            click: Type.Optional(Type.String({ maxLength: 128, description: 'Click id ({click_id})' })),
          }),
          produces: ['image/gif'],
          response: { 200: Type.String({ description: '1x1 transparent GIF' }) },
        },
      },
      async (request, reply) => {
        const query = request.query;
        try {
          await service.trackConversion(
            {
              advertiserId: q(query, 'advertiser'),
              value: q(query, 'value'),
              orderId: q(query, 'order'),
              currency: q(query, 'currency'),
              userKey: q(query, 'user'),
              clickId: q(query, 'click'),
            },
            metaOf(request, 'pixel'),
          );
        } catch (err) {
          throw unavailable(request, err);
        }
        return pixelHeaders(reply as unknown as FastifyReply)
          .type('image/gif')
          .send(PIXEL_GIF);
      },
    );
  };
}

/** The postback: JSON, authenticated with the advertiser's postback secret. */
export function postbackRoutes(deps: TrackingRouteDeps) {
  const { service } = deps;
  return async (app: App): Promise<void> => {
    app.post(
      '/v1/conversions',
      {
        bodyLimit: 16 * 1024,
        schema: {
          summary: 'Conversion postback (server to server)',
          description:
            "Authenticated with the advertiser's postback secret (`Authorization: Bearer <secret>` or " +
            '`x-marquee-postback-secret`), created and rotated with POST /api/v1/advertisers/{id}/postback-secret. ' +
            'Attributed like the pixel; CPA line items are charged their rate. 202 once the event is durable (also ' +
            'for a duplicate order, with verdict invalid); 401 for a wrong secret (recorded as invalid, bad_secret).',
          tags: ['tracking'],
          security: PUBLIC,
          body: Type.Object(
            {
              advertiserId: Type.String({ minLength: 1, maxLength: 48 }),
              orderId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              value: Type.Optional(
                Type.String({ pattern: '^\\d{1,13}(\\.\\d{1,6})?$', description: 'Order value, decimal string' }),
              ),
              currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
              userKey: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              clickId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            },
            { additionalProperties: false },
          ),
          response: {
            202: Type.Object(
              {
                eventId: Type.String(),
                verdict: Type.Enum(['valid', 'invalid']),
                reason: Type.String(),
                attribution: Type.Enum(['click', 'view', '']),
                lineItemId: Type.String(),
                priceMicros: Type.Integer(),
              },
              { additionalProperties: false },
            ),
          },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const meta = metaOf(request, 'postback');
        const advertiser = deps.snapshot().source.maps.advertiser.get(body.advertiserId);
        if (!secretMatches(advertiser?.postbackSecret, secretOf(request))) {
          try {
            await service.commit([refusedEvent('conversion', deps.now(), meta, 'bad_secret')]);
          } catch (err) {
            throw unavailable(request, err);
          }
          throw new MarqueeError('MQ_ERR_UNAUTHENTICATED', "Send the advertiser's postback secret");
        }
        let judged: Awaited<ReturnType<TrackingService['trackConversion']>>;
        try {
          judged = await service.trackConversion(
            {
              advertiserId: body.advertiserId,
              value: body.value ?? '',
              orderId: body.orderId ?? '',
              currency: body.currency ?? '',
              userKey: body.userKey ?? '',
              clickId: body.clickId ?? '',
            },
            meta,
          );
        } catch (err) {
          throw unavailable(request, err);
        }
        const e = judged.event;
        return reply.code(202).send({
          eventId: e.eventId,
          verdict: e.verdict,
          reason: e.reason,
          attribution: e.attribution ?? '',
          lineItemId: e.lineItemId,
          priceMicros: e.priceMicros,
        });
      },
    );
  };
}

function secretOf(request: FastifyRequest): string {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  const h = request.headers['x-marquee-postback-secret'];
  return typeof h === 'string' ? h : '';
}

function secretMatches(expected: string | undefined, given: string): boolean {
  if (!expected || !given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
