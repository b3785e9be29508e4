/**
 * The decision API's request and response: the single source for validation and the OpenAPI document.
 * Limits are deliberate: a page asks for a handful of placements, not thousands.
 */
import { Type } from 'typebox';

const closed = <P extends Parameters<typeof Type.Object>[0]>(p: P, description?: string) =>
  Type.Object(p, { additionalProperties: false, ...(description ? { description } : {}) });

const ShortString = Type.String({ maxLength: 256 });

export const DecisionRequest = closed(
  {
    placements: Type.Array(
      closed({
        id: Type.String({ minLength: 1, maxLength: 48, description: 'Placement id' }),
        count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'Ads wanted' })),
      }),
      { minItems: 1, maxItems: 20 },
    ),
    user: Type.Optional(
      closed({
        key: Type.Optional(
          Type.String({ maxLength: 128, description: 'First-party user key (tag storage or the caller’s id)' }),
        ),
        segments: Type.Optional(Type.Array(ShortString, { maxItems: 200, description: 'Audience segment keys' })),
      }),
    ),
    site: Type.Optional(
      closed({
        page: Type.Optional(Type.String({ maxLength: 2048 })),
        referrer: Type.Optional(Type.String({ maxLength: 2048 })),
        keywords: Type.Optional(Type.Array(ShortString, { maxItems: 100 })),
        categories: Type.Optional(Type.Array(ShortString, { maxItems: 50 })),
      }),
    ),
    app: Type.Optional(closed({ bundle: Type.Optional(ShortString), name: Type.Optional(ShortString) })),
    keywords: Type.Optional(Type.Array(ShortString, { maxItems: 100 })),
    kv: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 64 }),
        Type.Union([ShortString, Type.Array(ShortString, { maxItems: 50 })]),
        {
          maxProperties: 50,
          description: 'Key-values for targeting',
        },
      ),
    ),
    device: Type.Optional(
      closed(
        {
          ip: Type.Optional(Type.String({ maxLength: 45, description: "The end user's IP (server-side callers)" })),
          ua: Type.Optional(Type.String({ maxLength: 1024, description: "The end user's user agent" })),
        },
        'For server-side callers: the end user, not the server making the call',
      ),
    ),
    consent: Type.Optional(
      closed({
        gdpr: Type.Optional(Type.Boolean({ description: 'GDPR applies' })),
        tcf: Type.Optional(Type.String({ maxLength: 4096, description: 'IAB TCF v2 consent string' })),
        usp: Type.Optional(Type.String({ maxLength: 8, description: 'US Privacy string' })),
        gpp: Type.Optional(Type.String({ maxLength: 4096 })),
        coppa: Type.Optional(Type.Boolean()),
      }),
    ),
    explain: Type.Optional(
      Type.Boolean({ description: 'Return why each candidate was dropped (admins and the line item’s advertiser)' }),
    ),
  },
  'Ask for ads for one or more placements of one page or app screen',
);

const CreativePayload = Type.Object({
  kind: Type.String({ enum: ['image', 'html', 'native', 'vast'] }),
  imageUrl: Type.Optional(Type.String()),
  html: Type.Optional(Type.String()),
  native: Type.Optional(Type.Unknown()),
  vastUrl: Type.Optional(Type.String()),
  alt: Type.Optional(Type.String()),
});

export const ServedAd = Type.Object({
  decisionId: Type.String(),
  placementId: Type.String(),
  lineItemId: Type.String(),
  creativeId: Type.String(),
  campaignId: Type.String(),
  advertiserId: Type.String(),
  format: Type.String({ enum: ['banner', 'native', 'video'] }),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  creative: CreativePayload,
  /** Signed redirect: counts the click, then 302 to the landing page. */
  clickUrl: Type.Union([Type.String(), Type.Null()]),
  tracking: Type.Object({
    impression: Type.String(),
    viewable: Type.String(),
    click: Type.Union([Type.String(), Type.Null()]),
    /** Replace {name} with the event name (e.g. "video_start"). */
    custom: Type.String(),
  }),
});

export const DecisionResponse = Type.Object({
  requestId: Type.String(),
  /** Placement id to the ads served there (empty when nothing could serve). */
  decisions: Type.Record(Type.String(), Type.Array(ServedAd)),
  /** Placement id to why it is empty (unknown_placement, no_eligible_line_items, ...). */
  noFill: Type.Record(Type.String(), Type.String()),
  explain: Type.Optional(Type.Unknown()),
});
