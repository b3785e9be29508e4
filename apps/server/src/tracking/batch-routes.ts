/**
 * Batch ingestion for server-side integrations (SSAI, mobile SDK relays, CTV servers): POST /api/v1/events
 * with a JSON array or NDJSON of events. Mounted under /api so the API key (Bearer) or session resolves the
 * caller like every management call; the signed tokens remain the authority over what an event claims.
 *
 * Per-event work is synchronous (token check, dedup in memory or one Redis pipeline for the batch); the
 * whole batch is ONE durable append, and the per-event results are answered after it.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../deps.ts';
import { principalOf, requireWrite } from '../http/auth/guards.ts';
import { MarqueeError } from '../http/errors.ts';
import { AUTHENTICATED } from '../http/schemas.ts';
import type { HitMeta, Judged, TokenKind, TrackingService } from './tracking-service.ts';

export const MAX_BATCH_EVENTS = 10_000;
export const MAX_BATCH_BYTES = 10 * 1024 * 1024;

const TOKEN_KINDS: ReadonlySet<string> = new Set(['impression', 'viewable', 'click', 'custom']);

export type BatchStatus = 'accepted' | 'duplicate' | 'rejected';
export interface BatchResult {
  index: number;
  status: BatchStatus;
  reason?: string;
}

const str = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);

export function batchRoutes(service: TrackingService, now: () => number) {
  return async (app: App): Promise<void> => {
    app.addContentTypeParser(
      'application/x-ndjson',
      { parseAs: 'string', bodyLimit: MAX_BATCH_BYTES },
      (_req, body, done) => {
        const lines = (body as string).split('\n');
        const items: unknown[] = [];
        for (const line of lines) {
          const text = line.trim();
          if (text === '') continue;
          try {
            items.push(JSON.parse(text));
          } catch {
            items.push(MALFORMED_LINE); // reported per event, not a 400 for the whole batch
          }
        }
        done(null, items);
      },
    );

    app.post(
      '/api/v1/events',
      {
        bodyLimit: MAX_BATCH_BYTES,
        preHandler: requireWrite,
        // Validated per event below: one bad event must not refuse the batch.
        validatorCompiler: () => () => true,
        schema: {
          summary: 'Ingest a batch of tracking events (server-side integrations)',
          description:
            `A JSON array, or NDJSON (application/x-ndjson), of up to ${MAX_BATCH_EVENTS} events / 10 MB. Each is ` +
            '`{kind: impression|viewable|click|custom, token, name?, ip?, ua?}` (token = the last path segment of a ' +
            'tracking URL) or `{kind: conversion, advertiserId, orderId?, value?, currency?, userKey?, clickId?}` ' +
            "(advertisers' users only for their own advertisers). Answers after ONE durable append with a result per " +
            'event: accepted, duplicate, or rejected with a reason. Rejected events with a readable shape are ' +
            'recorded as invalid; events without one (not an object, unknown kind) are not recorded.',
          tags: ['tracking'],
          security: AUTHENTICATED,
          consumes: ['application/json', 'application/x-ndjson'],
          body: Type.Array(Type.Object({ kind: Type.String() }, { additionalProperties: true })),
          response: {
            200: Type.Object(
              {
                accepted: Type.Integer(),
                duplicates: Type.Integer(),
                rejected: Type.Integer(),
                results: Type.Array(
                  Type.Object(
                    {
                      index: Type.Integer(),
                      status: Type.Enum(['accepted', 'duplicate', 'rejected']),
                      reason: Type.Optional(Type.String()),
                    },
                    { additionalProperties: false },
                  ),
                ),
              },
              { additionalProperties: false },
            ),
          },
        },
      },
      async (request) => {
        const items = request.body as unknown;
        if (!Array.isArray(items)) {
          throw new MarqueeError('MQ_ERR_VALIDATION', 'Send a JSON array or NDJSON of events', [
            { path: '', message: 'must be an array', code: 'type' },
          ]);
        }
        if (items.length > MAX_BATCH_EVENTS) {
          throw new MarqueeError('MQ_ERR_VALIDATION', `At most ${MAX_BATCH_EVENTS} events per batch`, [
            { path: '', message: `must have at most ${MAX_BATCH_EVENTS} items`, code: 'maxItems' },
          ]);
        }
        return ingest(service, request, items, now());
      },
    );
  };
}

const MALFORMED_LINE = Symbol('malformed line');

async function ingest(service: TrackingService, request: FastifyRequest, items: unknown[], nowMs: number) {
  const principal = principalOf(request);
  const results: BatchResult[] = new Array(items.length);
  const judged: Judged[] = [];
  const judgedIndex: number[] = [];
  const ua = request.headers['user-agent'];
  const defaultMeta: HitMeta = { ip: request.ip, ua: typeof ua === 'string' ? ua : '', source: 'batch' };
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      results[i] = { index: i, status: 'rejected', reason: 'malformed' };
      continue;
    }
    const o = item as Record<string, unknown>;
    const kind = o['kind'];
    const ip = str(o['ip'], 45);
    const itemUa = str(o['ua'], 1024);
    const meta: HitMeta = ip || itemUa ? { ip: ip ?? defaultMeta.ip, ua: itemUa ?? '', source: 'batch' } : defaultMeta;
    let j: Judged;
    if (typeof kind === 'string' && TOKEN_KINDS.has(kind)) {
      const token = str(o['token'], 8192);
      if (token === undefined) {
        results[i] = { index: i, status: 'rejected', reason: 'missing_token' };
        continue;
      }
      j = service.inspectToken(kind as TokenKind, token, str(o['name'], 64), meta, nowMs);
    } else if (kind === 'conversion') {
      const advertiserId = str(o['advertiserId'], 48);
      if (!advertiserId) {
        results[i] = { index: i, status: 'rejected', reason: 'missing_advertiser' };
        continue;
      }
      if (principal.role !== 'admin' && !principal.advertiserIds.includes(advertiserId)) {
        results[i] = { index: i, status: 'rejected', reason: 'forbidden' };
        continue;
      }
      j = service.inspectConversion(
        {
          advertiserId,
          value: str(o['value'], 32) ?? '',
          orderId: str(o['orderId'], 128) ?? '',
          currency: str(o['currency'], 3) ?? '',
          userKey: str(o['userKey'], 128) ?? '',
          clickId: str(o['clickId'], 128) ?? '',
        },
        { ...meta, source: 'batch' },
        nowMs,
      );
    } else {
      results[i] = { index: i, status: 'rejected', reason: 'unknown_kind' };
      continue;
    }
    judged.push(j);
    judgedIndex.push(i);
  }
  const settled = service.settle(judged);
  if (!Array.isArray(settled)) await settled;
  try {
    await service.commit(judged);
  } catch (err) {
    request.log.warn({ err }, 'batch not stored');
    throw new MarqueeError('MQ_ERR_UNAVAILABLE', 'The events could not be stored; retry the batch', [], {
      'retry-after': '1',
    });
  }
  let accepted = 0;
  let duplicates = 0;
  for (let k = 0; k < judged.length; k++) {
    const e = judged[k]!.event;
    const index = judgedIndex[k]!;
    if (e.verdict === 'valid') {
      accepted++;
      results[index] = { index, status: 'accepted' };
    } else if (e.reason === 'duplicate') {
      duplicates++;
      results[index] = { index, status: 'duplicate', reason: 'duplicate' };
    } else results[index] = { index, status: 'rejected', reason: e.reason };
  }
  return { accepted, duplicates, rejected: items.length - accepted - duplicates, results };
}
