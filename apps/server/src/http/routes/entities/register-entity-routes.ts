/**
 * The REST routes of one managed entity under /api/v1/<plural>: create, read, list, partial update
 * with optimistic concurrency, archive, bulk status. Every read and write goes through the store with
 * the caller's scope, so another tenant's row is simply not there (404, never 403, never its data).
 */
import { isId } from '@marquee/core';
import {
  type AnyEntity,
  BadQueryError,
  type ListQuery,
  type Scope,
  type Store,
  type WriteResult,
} from '@marquee/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TObject } from 'typebox';
import type { App, AppDeps } from '../../../deps.ts';
import { actorOf, principalOf, requireAuth, requireWrite } from '../../auth/guards.ts';
import { MarqueeError } from '../../errors.ts';
import type { Principal } from '../../principal.ts';
import { AUTHENTICATED, ErrorResponse } from '../../schemas.ts';
import { refuseDeepBodies } from './body-depth.ts';
import type { EntityDefinition } from './definitions.ts';
import { assertValidEntity } from './entity-validator.ts';
import type { Row } from './rules.ts';
import {
  BulkStatusBody,
  BulkStatusResponse,
  ConflictResponse,
  IdParams,
  ListResponse,
  listQuerySchema,
} from './schemas.ts';

const META = ['id', 'version', 'createdAt', 'updatedAt'] as const;

export function registerEntityRoutes(app: App, deps: AppDeps, d: EntityDefinition): void {
  const { store } = deps;
  const repo = store.repos[d.kind] as unknown as GenericRepository;
  const entity = d.schemas.entity as TObject;
  const base = `/${d.plural}`;
  const tags = [d.tag];
  const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
  const withConflict = { ...errors, 409: ConflictResponse(entity) };

  /** An advertiser's user has no business on publisher routes and vice versa: 403 before any query. */
  const sideGuard = async (request: FastifyRequest) => {
    const p = principalOf(request);
    if (p.scope.kind === 'tenant') {
      const ids = d.side === 'advertiser' ? p.scope.advertiserIds : p.scope.publisherIds;
      if (ids.length === 0) {
        throw new MarqueeError('MQ_ERR_FORBIDDEN', `Your role has no access to ${d.plural}`);
      }
    }
  };
  const read = [requireAuth, sideGuard];
  const write = [requireAuth, requireWrite, sideGuard];

  const idOf = (request: FastifyRequest): string => {
    const id = (request.params as { id: string }).id;
    if (!isId(id) || !id.startsWith(d.idPrefix)) {
      throw new MarqueeError('MQ_ERR_BAD_ID', `Not a ${d.singular} id (expected ${d.idPrefix}...)`, [
        { path: '/id', message: 'is not a valid id', code: 'bad_id' },
      ]);
    }
    return id;
  };

  const load = async (request: FastifyRequest): Promise<AnyEntity> => {
    const found = await repo.get(idOf(request), principalOf(request).scope);
    if (!found) throw notFound(d);
    return found;
  };

  // ---------- list ----------
  app.get(
    base,
    {
      preHandler: read,
      schema: {
        summary: `List ${d.plural}`,
        description:
          'Keyset pagination: pass `nextCursor` back as `cursor` until it is null. `total` counts every matching row.',
        tags,
        security: AUTHENTICATED,
        querystring: listQuerySchema(d.filters),
        response: { 200: ListResponse(entity), ...errors },
      },
    },
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const filters: Record<string, readonly string[]> = {};
      for (const f of ['status', ...d.filters]) {
        const v = q[f] as string[] | undefined;
        if (v && v.length > 0) filters[f] = v;
      }
      const query: ListQuery = {
        filters,
        limit: (q.limit as number | undefined) ?? 50,
        ...(q.cursor !== undefined ? { cursor: q.cursor as string } : {}),
        ...(q.sort !== undefined ? { sort: q.sort as string } : {}),
        ...(q.search !== undefined && q.search !== '' ? { search: q.search as string } : {}),
        ...(q.includeArchived !== undefined ? { includeArchived: q.includeArchived as boolean } : {}),
      };
      return storeCall(() => repo.list(query, principalOf(request).scope));
    },
  );

  // ---------- read ----------
  app.get(
    `${base}/:id`,
    {
      preHandler: read,
      schema: {
        summary: `Get a ${d.singular}`,
        description: 'The ETag header carries the version to send back in If-Match when updating.',
        tags,
        security: AUTHENTICATED,
        params: IdParams,
        response: { 200: entity, ...errors },
      },
    },
    async (request, reply) => {
      const found = await load(request);
      return withEtag(reply, found);
    },
  );

  // ---------- create ----------
  app.post(
    base,
    {
      preValidation: refuseDeepBodies,
      preHandler: write,
      schema: {
        summary: `Create a ${d.singular}`,
        description: d.adminCreates ? 'Admins only.' : `The ${d.singular} must belong to one of your tenants.`,
        tags,
        security: AUTHENTICATED,
        body: d.schemas.create,
        response: { 201: entity, ...withConflict },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (d.adminCreates && principal.role !== 'admin') {
        throw new MarqueeError('MQ_ERR_FORBIDDEN', `Only admins create ${d.plural}`);
      }
      const sent = request.body as Row;
      const next: Row = { ...sent };
      await applyRules(request, store, d, next, undefined, sent);
      assertValidEntity(d.schemas.fields, next);
      const result = await repo.create(next, actorOf(request));
      const created = unwrap(result, d, reply);
      reply.code(201).header('location', `/api/v1/${d.plural}/${created.id}`);
      return withEtag(reply, created);
    },
  );

  // ---------- partial update ----------
  app.patch(
    `${base}/:id`,
    {
      preValidation: refuseDeepBodies,
      preHandler: write,
      schema: {
        summary: `Update a ${d.singular}`,
        description:
          'Partial update: the fields sent are merged over the stored entity, then the whole is validated. ' +
          'Send the version you read in `If-Match: "<version>"` or as `version` in the body: 428 without it, ' +
          '409 (with the current entity) when it is stale. `null` removes an optional field.',
        tags,
        security: AUTHENTICATED,
        params: IdParams,
        body: d.schemas.patch,
        response: { 200: entity, ...withConflict },
      },
    },
    async (request, reply) => {
      const current = await load(request);
      const patch = { ...(request.body as Row) };
      const expected = expectedVersion(request, patch.version, current.version);
      delete patch.version;
      if (expected !== current.version) return sendConflict(reply, current);
      const next: Row = writable(current);
      for (const [field, value] of Object.entries(patch)) {
        // null on a field the schema does not allow null for means "remove it" (optional fields only).
        if (value === null && !acceptsNull(d.schemas.fields, field)) delete next[field];
        else next[field] = value;
      }
      if (
        d.tenantField !== 'id' &&
        d.tenantField in patch &&
        patch[d.tenantField] !== (current as Row)[d.tenantField]
      ) {
        throw new MarqueeError('MQ_ERR_UNPROCESSABLE', `A ${d.singular} cannot move to another tenant`, [
          { path: `/${d.tenantField}`, message: 'cannot be changed', code: 'immutable' },
        ]);
      }
      await applyRules(request, store, d, next, current, patch);
      assertValidEntity(d.schemas.fields, next);
      const result = await repo.update(current.id, expected, next, principalOf(request).scope, actorOf(request));
      if (result.kind === 'conflict') return sendConflict(reply, result.current);
      return withEtag(reply, unwrap(result, d, reply));
    },
  );

  // ---------- archive ----------
  app.post(
    `${base}/:id/archive`,
    {
      preHandler: write,
      schema: {
        summary: `Archive a ${d.singular}`,
        description: 'Sets status to archived (idempotent). Archived rows are hidden from lists unless asked for.',
        tags,
        security: AUTHENTICATED,
        params: IdParams,
        response: { 200: entity, ...errors },
      },
    },
    async (request, reply) => {
      const current = await load(request);
      if (current.status === 'archived') return withEtag(reply, current);
      const [changed] = await repo.setStatus([current.id], 'archived', principalOf(request).scope, actorOf(request));
      return withEtag(reply, changed ?? (await load(request)));
    },
  );

  // ---------- bulk status ----------
  app.post(
    `${base}/bulk-status`,
    {
      preValidation: refuseDeepBodies,
      preHandler: write,
      schema: {
        summary: `Pause, activate or archive many ${d.plural}`,
        description:
          'Applies the status to every id you can see; ids that do not exist or are not yours are reported in ' +
          '`errors` (not_found) and nothing is changed for them.',
        tags,
        security: AUTHENTICATED,
        body: BulkStatusBody,
        response: { 200: BulkStatusResponse, ...errors },
      },
    },
    async (request) => {
      const { ids, status } = request.body as { ids: string[]; status: string };
      const scope = principalOf(request).scope;
      const wellFormed = ids.filter((id) => isId(id) && id.startsWith(d.idPrefix));
      const visible = wellFormed.length > 0 ? await repo.getMany(wellFormed, scope) : [];
      const byId = new Map(visible.map((e) => [e.id, e]));
      const toChange = wellFormed.filter((id) => byId.has(id) && byId.get(id)!.status !== status);
      const unchanged = wellFormed.filter((id) => byId.get(id)?.status === status);
      const changed = toChange.length > 0 ? await repo.setStatus(toChange, status, scope, actorOf(request)) : [];
      const changedIds = new Set(changed.map((e) => e.id));
      // Errors in the order the ids were sent. A row can also vanish between the read and the write.
      const errorsOut = ids.flatMap((id) => {
        if (!isId(id) || !id.startsWith(d.idPrefix)) return [{ id, code: 'bad_id', message: `not a ${d.singular} id` }];
        if (!byId.has(id) || (toChange.includes(id) && !changedIds.has(id))) {
          return [{ id, code: 'not_found', message: `no such ${d.singular}` }];
        }
        return [];
      });
      return { changed: toChange.filter((id) => changedIds.has(id)), unchanged, errors: errorsOut };
    },
  );
}

interface GenericRepository {
  get(id: string, scope: Scope): Promise<AnyEntity | undefined>;
  getMany(ids: readonly string[], scope: Scope): Promise<AnyEntity[]>;
  list(query: ListQuery, scope: Scope): Promise<{ items: AnyEntity[]; nextCursor: string | null; total: number }>;
  create(fields: Row, actor: ReturnType<typeof actorOf>): Promise<WriteResult<AnyEntity>>;
  update(
    id: string,
    version: number,
    fields: Row,
    scope: Scope,
    actor: ReturnType<typeof actorOf>,
  ): Promise<WriteResult<AnyEntity>>;
  setStatus(
    ids: readonly string[],
    status: string,
    scope: Scope,
    actor: ReturnType<typeof actorOf>,
  ): Promise<AnyEntity[]>;
}

async function applyRules(
  request: FastifyRequest,
  store: Store,
  d: EntityDefinition,
  next: Row,
  current: AnyEntity | undefined,
  sent: Row,
): Promise<void> {
  const principal = principalOf(request);
  const input = { next, current, sent, store, scope: principal.scope, principal };
  // Tenant check first when the tenant is known, so a foreign id gets 403 rather than rule chatter.
  if (!current) assertOwnTenant(d, principal, next[d.tenantField]);
  const issues = await d.rules(input);
  if (!current) assertOwnTenant(d, principal, next[d.tenantField]); // derived tenants (line item, placement)
  if (issues.length > 0) {
    throw new MarqueeError(
      'MQ_ERR_UNPROCESSABLE',
      issues.length === 1 ? `${issues[0]!.path.slice(1)}: ${issues[0]!.message}` : `${issues.length} rules broken`,
      issues.map((i) => ({ path: i.path, message: i.message, code: i.code })),
    );
  }
}

/** A new row must belong to one of the caller's tenants (admins and the network scope: any). */
function assertOwnTenant(d: EntityDefinition, principal: Principal, tenant: unknown): void {
  const scope = principal.scope;
  if (scope.kind === 'all' || d.tenantField === 'id' || tenant === undefined) return;
  const own = d.side === 'advertiser' ? scope.advertiserIds : scope.publisherIds;
  if (tenant === null || !own.includes(tenant as string)) {
    throw new MarqueeError('MQ_ERR_FORBIDDEN', `You can only create ${d.plural} for your own ${d.side}s`, [
      { path: `/${d.tenantField}`, message: `is not one of your ${d.side}s`, code: 'forbidden' },
    ]);
  }
}

function writable(e: AnyEntity): Row {
  const row: Row = { ...(e as unknown as Row) };
  for (const m of META) delete row[m];
  return row;
}

function acceptsNull(fieldsSchema: object, field: string): boolean {
  const prop = (fieldsSchema as { properties?: Record<string, unknown> }).properties?.[field];
  return JSON.stringify(prop ?? {}).includes('"type":"null"');
}

/** If-Match: "3" (or W/"3", or 3); `*` means "whatever is stored" (RFC 9110). */
function expectedVersion(request: FastifyRequest, bodyVersion: unknown, currentVersion: number): number {
  const header = request.headers['if-match'];
  let fromHeader: number | undefined;
  if (typeof header === 'string' && header.trim() !== '') {
    const h = header.trim();
    if (h === '*') fromHeader = currentVersion;
    else {
      const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(h);
      if (!m) {
        throw new MarqueeError('MQ_ERR_VALIDATION', 'If-Match must be the version in quotes, e.g. "3"', [
          { path: '/headers/if-match', message: 'is not a version', code: 'format' },
        ]);
      }
      fromHeader = Number(m[1]);
    }
  }
  const fromBody = typeof bodyVersion === 'number' ? bodyVersion : undefined;
  if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
    throw new MarqueeError('MQ_ERR_VALIDATION', 'If-Match and body version disagree', [
      { path: '/version', message: 'differs from If-Match', code: 'mismatch' },
    ]);
  }
  const expected = fromHeader ?? fromBody;
  if (expected === undefined) throw new MarqueeError('MQ_ERR_PRECONDITION_REQUIRED');
  return expected;
}

function withEtag(reply: FastifyReply, e: AnyEntity): AnyEntity {
  reply.header('etag', `"${e.version}"`);
  return e;
}

function sendConflict(reply: FastifyReply, current: AnyEntity): FastifyReply {
  reply.header('etag', `"${current.version}"`);
  return reply.code(409).send({
    code: 'MQ_ERR_CONFLICT',
    message: `The entity was changed by someone else (now at version ${current.version}); reload and retry`,
    details: [{ path: '/version', message: `current version is ${current.version}`, code: 'stale' }],
    current,
  });
}

function unwrap(result: WriteResult<AnyEntity>, d: EntityDefinition, _reply: FastifyReply): AnyEntity {
  switch (result.kind) {
    case 'ok':
      return result.entity;
    case 'not_found':
      throw notFound(d);
    case 'duplicate':
      throw new MarqueeError('MQ_ERR_DUPLICATE', `Another ${d.singular} already has this ${result.field}`, [
        { path: `/${result.field}`, message: 'is already taken', code: 'duplicate' },
      ]);
    case 'conflict':
      throw new MarqueeError('MQ_ERR_CONFLICT');
  }
}

function notFound(d: EntityDefinition): MarqueeError {
  return new MarqueeError('MQ_ERR_NOT_FOUND', `No such ${d.singular}`);
}

/** The store reports bad list parameters (a tampered cursor, an unknown sort) as BadQueryError. */
async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BadQueryError) {
      throw new MarqueeError(err.code, err.message, [
        { path: `/${err.path}`, message: err.message, code: 'bad_query' },
      ]);
    }
    throw err;
  }
}
