/**
 * Public serving routes: the decision API, the VAST endpoint, the web tag and the demo page; and the
 * authenticated explain endpoint under /api/v1. None of them touches the database: they read the
 * serving snapshot.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'typebox';
import type { App } from '../deps.ts';
import { principalOf } from '../http/auth/guards.ts';
import { MarqueeError } from '../http/errors.ts';
import { AUTHENTICATED, PUBLIC } from '../http/schemas.ts';
import type { DecisionRouteHolder } from './decision-fast-path.ts';
import { DecisionRequest, DecisionResponse } from './decision-schemas.ts';
import type { DecisionBody, DecisionOutcome, DecisionService } from './decision-service.ts';
import { renderDemoPage } from './demo-page.ts';
import type { ServingState } from './serving-state.ts';
import { buildEmptyVast, buildVast } from './vast.ts';

/** Decision requests are small; a page asking for 20 placements fits in a few KB. */
export const DECISION_BODY_LIMIT = 64 * 1024;

export interface ServingRouteDeps {
  readonly service: DecisionService;
  readonly state: ServingState;
  readonly publicUrl: string;
  /** Given the decision route's compiled validator and serializers once the app is ready (decision-fast-path.ts). */
  readonly decisionRoute?: DecisionRouteHolder;
}

export const DECISION_PATH = '/v1/decisions';

/** The body parser of text/plain decision requests (the web tag's): JSON, or MQ_ERR_MALFORMED_JSON. */
export function parseTextPlainJson(
  _req: unknown,
  body: string,
  done: (err: Error | null, value: unknown) => void,
): void {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    done(new MarqueeError('MQ_ERR_MALFORMED_JSON'), undefined);
    return;
  }
  done(null, value);
}

/** The public decision route's handler (also the fast path's): explain is refused here, the rest decided. */
export function publicDecision(
  service: DecisionService,
  body: DecisionBody,
  ip: string | undefined,
  userAgent: string | undefined,
): Promise<DecisionOutcome> {
  if (body.explain) {
    return Promise.reject(
      new MarqueeError('MQ_ERR_VALIDATION', 'explain is available to signed-in users at /api/v1/decisions/explain', [
        { path: '/explain', message: 'use POST /api/v1/decisions/explain', code: 'not_here' },
      ]),
    );
  }
  return service.decide(body, { ip, userAgent });
}

const TAG_SOURCE = readFileSync(join(import.meta.dirname, 'tag', 'marquee.js'), 'utf8');

export function servingRoutes(deps: ServingRouteDeps) {
  return async (app: App): Promise<void> => {
    // The tag posts its JSON as text/plain: a CORS "simple request", so browsers send no preflight.
    app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: DECISION_BODY_LIMIT }, (req, body, done) =>
      parseTextPlainJson(req, body as string, done),
    );

    // The decision route's options as Fastify compiles them (after the app's onRoute hooks): the fast path
    // compiles the same schemas with the same compilers once the app is ready.
    const decisionRoute = deps.decisionRoute;
    if (decisionRoute) {
      app.addHook('onRoute', (route) => {
        if (route.method === 'POST' && route.url === DECISION_PATH) decisionRoute.routeOptions = route;
      });
      app.addHook('onReady', async () => decisionRoute.compile(app));
    }

    app.post(
      DECISION_PATH,
      {
        bodyLimit: DECISION_BODY_LIMIT,
        config: { rateLimit: false },
        schema: {
          summary: 'Choose ads for one or more placements',
          description:
            'One winning ad per requested placement (or `count` ads), with signed, expiring tracking URLs. ' +
            'Unknown or inactive placements get an empty list and a reason in `noFill`, not an error. ' +
            'Send JSON as application/json or text/plain (the web tag uses text/plain to avoid a CORS preflight).',
          tags: ['serving'],
          security: PUBLIC,
          consumes: ['application/json', 'text/plain'],
          body: DecisionRequest,
          response: { 200: DecisionResponse },
        },
      },
      async (request, reply) => {
        const outcome = await publicDecision(deps.service, request.body, request.ip, request.headers['user-agent']);
        reply.header('cache-control', 'no-store');
        return outcome;
      },
    );

    app.get(
      '/v1/vast',
      {
        config: { rateLimit: false },
        schema: {
          summary: 'A VAST 4.2 document for a video placement',
          description:
            'Runs a decision for the placement and answers VAST 4.2 XML with signed impression, error, click and ' +
            'quartile tracking URLs; an empty VAST document when nothing can serve.',
          tags: ['serving'],
          security: PUBLIC,
          querystring: Type.Object(
            {
              placement: Type.String({ minLength: 1, maxLength: 48 }),
              user: Type.Optional(Type.String({ maxLength: 128 })),
              page: Type.Optional(Type.String({ maxLength: 2048 })),
              keywords: Type.Optional(Type.String({ maxLength: 2048, description: 'Comma-separated' })),
              ip: Type.Optional(Type.String({ maxLength: 45, description: "Server-side callers: the viewer's IP" })),
              ua: Type.Optional(
                Type.String({ maxLength: 1024, description: "Server-side callers: the viewer's user agent" }),
              ),
            },
            { additionalProperties: false },
          ),
          produces: ['application/xml'],
          response: { 200: Type.String({ description: 'VAST 4.2 XML' }) },
        },
      },
      async (request, reply) => {
        const q = request.query;
        const outcome = await deps.service.decide(
          {
            placements: [{ id: q.placement, count: 1 }],
            ...(q.user ? { user: { key: q.user } } : {}),
            site: {
              ...(q.page ? { page: q.page } : {}),
              ...(q.keywords ? { keywords: q.keywords.split(',').filter(Boolean).slice(0, 100) } : {}),
            },
            ...(q.ip || q.ua ? { device: { ...(q.ip ? { ip: q.ip } : {}), ...(q.ua ? { ua: q.ua } : {}) } } : {}),
          },
          { ip: request.ip, userAgent: request.headers['user-agent'] },
        );
        reply.header('content-type', 'application/xml; charset=utf-8').header('cache-control', 'no-store');
        const ad = outcome.decisions[q.placement]?.[0];
        const creative = ad ? deps.service.creativeOf(ad.creativeId) : undefined;
        if (!ad || !creative?.video) return buildEmptyVast();
        const custom = (name: string) => ad.tracking.custom.replace('{name}', name);
        return buildVast({
          decisionId: ad.decisionId,
          creativeId: ad.creativeId,
          title: creative.name,
          advertiser: deps.service.advertiserName(ad.advertiserId),
          categories: creative.categories,
          durationSec: creative.video.durationSec,
          media: { ...creative.video, url: creative.video.mediaUrl },
          impressionUrl: ad.tracking.impression,
          errorUrl: custom('error'),
          clickThroughUrl: ad.clickUrl ?? undefined,
          tracking: {
            start: custom('start'),
            firstQuartile: custom('firstQuartile'),
            midpoint: custom('midpoint'),
            thirdQuartile: custom('thirdQuartile'),
            complete: custom('complete'),
          },
        });
      },
    );

    app.get(
      '/marquee.js',
      {
        config: { rateLimit: false },
        schema: {
          summary: 'The web tag',
          description: 'Paste `<script async src=".../marquee.js"></script>` once per page; see docs/serving.md.',
          tags: ['serving'],
          security: PUBLIC,
          produces: ['text/javascript'],
          response: { 200: Type.String() },
        },
      },
      async (_request, reply) => {
        reply
          .header('content-type', 'text/javascript; charset=utf-8')
          .header('cache-control', 'public, max-age=300')
          .header('cross-origin-resource-policy', 'cross-origin');
        return TAG_SOURCE;
      },
    );

    const demoSchema = {
      summary: 'A demo publisher page showing the network’s ads through the web tag',
      tags: ['serving'],
      security: PUBLIC,
      querystring: Type.Object(
        { site: Type.Optional(Type.String({ maxLength: 48 })) },
        { additionalProperties: false },
      ),
      produces: ['text/html'],
      response: { 200: Type.String() },
    };
    app.get('/demo', { config: { rateLimit: false }, schema: demoSchema }, async (request, reply) => {
      const site = request.query.site;
      reply
        .header('content-type', 'text/html; charset=utf-8')
        // A publisher page: creatives render in sandboxed srcdoc iframes, which inherit this policy.
        .header(
          'content-security-policy',
          "default-src 'self' https: data:; script-src 'self' 'unsafe-inline' https:; style-src 'self' 'unsafe-inline' https:; img-src * data: blob:; media-src * data: blob:; frame-src 'self' https: data:; connect-src 'self'",
        );
      return renderDemoPage(deps.state.current, site);
    });

    app.post(
      '/api/v1/decisions/explain',
      {
        bodyLimit: DECISION_BODY_LIMIT,
        schema: {
          summary: "Why didn't my ad serve? A dry-run decision with every candidate's reason",
          description:
            'Admins and read-only users see every line item; an advertiser user sees only its own line items. ' +
            'A dry run: no tracking URLs are signed and no frequency caps are counted.',
          tags: ['serving'],
          security: AUTHENTICATED,
          body: DecisionRequest,
          response: { 200: DecisionResponse },
        },
      },
      async (request) => {
        const p = principalOf(request);
        let explain: true | { lineItemIds: string[] };
        if (p.role === 'admin' || p.role === 'readonly') explain = true;
        else if (p.role === 'advertiser') {
          const mine = new Set(p.advertiserIds);
          const lineItemIds: string[] = [];
          for (const li of deps.state.current.source.maps.lineItem.values()) {
            if (mine.has(li.advertiserId)) lineItemIds.push(li.id);
          }
          explain = { lineItemIds };
        } else throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Explain is for admins and advertisers');
        const outcome = await deps.service.decide(
          { ...request.body, explain: undefined },
          { ip: request.ip, userAgent: request.headers['user-agent'], explain, dryRun: true },
        );
        if (p.role !== 'advertiser') return outcome;
        // An advertiser sees its own ads only: other advertisers' winners are hidden.
        const mine = new Set(p.advertiserIds);
        const decisions: typeof outcome.decisions = {};
        for (const [placementId, ads] of Object.entries(outcome.decisions)) {
          decisions[placementId] = ads.filter((a) => mine.has(a.advertiserId));
        }
        return { ...outcome, decisions };
      },
    );
  };
}
