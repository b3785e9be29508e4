/**
 * Users (admin only). Passwords are set at creation (or generated and returned once) and by reset;
 * hashes never leave the server. An advertiser user must belong to at least one existing advertiser,
 * a publisher user to at least one existing publisher; admins and read-only users belong to none.
 */
import { ROLES, type Role, User, UserFields } from '@marquee/core';
import { ALL, type Store, type WriteResult } from '@marquee/store';
import { Type } from 'typebox';
import type { RouteModule } from '../../deps.ts';
import { actorOf, principalOf, requireAdmin, requireAdminWrite } from '../auth/guards.ts';
import { generatePassword, hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.ts';
import { type ErrorDetail, MarqueeError } from '../errors.ts';
import { AUTHENTICATED, IdParams, PageOf, PageQuery } from '../schemas.ts';

const Password = Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH });
const UserStatus = UserFields.status;

const CreateUserBody = Type.Object(
  {
    email: UserFields.email,
    name: UserFields.name,
    role: UserFields.role,
    status: Type.Optional(UserStatus),
    advertiserIds: Type.Optional(UserFields.advertiserIds),
    publisherIds: Type.Optional(UserFields.publisherIds),
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
);

const UpdateUserBody = Type.Object(
  {
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'The version you read (or send If-Match)' })),
    email: Type.Optional(UserFields.email),
    name: Type.Optional(UserFields.name),
    role: Type.Optional(UserFields.role),
    status: Type.Optional(UserStatus),
    advertiserIds: Type.Optional(UserFields.advertiserIds),
    publisherIds: Type.Optional(UserFields.publisherIds),
  },
  { additionalProperties: false },
);

const UserWithPassword = Type.Object(
  {
    user: User,
    password: Type.Optional(Type.String({ description: 'The generated password, shown this once' })),
  },
  { additionalProperties: false },
);

const ListUsersQuery = Type.Object(
  {
    ...PageQuery,
    role: Type.Optional(Type.Enum([...ROLES])),
    status: Type.Optional(UserStatus),
    search: Type.Optional(Type.String({ maxLength: 200 })),
    includeArchived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const ResetPasswordBody = Type.Object({ password: Type.Optional(Password) }, { additionalProperties: false });

const TAGS = ['users'];

/** The tenant rule of roles; returns the problems as error details (empty when fine). */
export async function checkTenancy(
  store: Store,
  role: Role,
  advertiserIds: readonly string[],
  publisherIds: readonly string[],
): Promise<ErrorDetail[]> {
  const problems: ErrorDetail[] = [];
  const need = async (
    field: 'advertiserIds' | 'publisherIds',
    ids: readonly string[],
    kind: 'advertiser' | 'publisher',
  ) => {
    if (ids.length === 0) {
      problems.push({ path: `/${field}`, message: `a ${kind} user needs at least one ${kind}`, code: 'required' });
      return;
    }
    const found = new Set((await store.repos[kind].getMany([...new Set(ids)], ALL)).map((e) => e.id));
    ids.forEach((id, i) => {
      if (!found.has(id)) problems.push({ path: `/${field}/${i}`, message: `no ${kind} ${id}`, code: 'not_found' });
    });
  };
  const mustBeEmpty = (field: 'advertiserIds' | 'publisherIds', ids: readonly string[]) => {
    if (ids.length > 0) {
      problems.push({ path: `/${field}`, message: `must be empty for role ${role}`, code: 'not_allowed' });
    }
  };
  if (role === 'advertiser') {
    await need('advertiserIds', advertiserIds, 'advertiser');
    mustBeEmpty('publisherIds', publisherIds);
  } else if (role === 'publisher') {
    await need('publisherIds', publisherIds, 'publisher');
    mustBeEmpty('advertiserIds', advertiserIds);
  } else {
    mustBeEmpty('advertiserIds', advertiserIds);
    mustBeEmpty('publisherIds', publisherIds);
  }
  return problems;
}

function unwrap<T>(result: WriteResult<T>, kind = 'user'): T {
  switch (result.kind) {
    case 'ok':
      return result.entity;
    case 'not_found':
      throw new MarqueeError('MQ_ERR_NOT_FOUND', `No such ${kind}`);
    case 'conflict':
      throw new MarqueeError('MQ_ERR_CONFLICT', undefined, [
        { path: '/version', message: `the current version is ${(result.current as { version: number }).version}` },
      ]);
    case 'duplicate':
      throw new MarqueeError('MQ_ERR_DUPLICATE', `Another ${kind} already has this ${result.field}`, [
        { path: `/${result.field}`, message: 'is already taken', code: 'duplicate' },
      ]);
  }
}

/** If-Match: "3" or W/"3" or 3; the body's version wins when both are sent. */
export function expectedVersion(ifMatch: string | undefined, bodyVersion: number | undefined): number {
  if (bodyVersion !== undefined) return bodyVersion;
  const m = ifMatch ? /^(?:W\/)?"?(\d{1,15})"?$/.exec(ifMatch.trim()) : null;
  if (m) return Number(m[1]);
  throw new MarqueeError('MQ_ERR_PRECONDITION_REQUIRED');
}

export const userRoutes: RouteModule = async (app, { store }) => {
  app.get(
    '/users',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'List users',
        tags: TAGS,
        security: AUTHENTICATED,
        querystring: ListUsersQuery,
        response: { 200: PageOf(User) },
      },
    },
    async (request) => {
      const q = request.query;
      const filters: Record<string, string> = {};
      if (q.role) filters['role'] = q.role;
      if (q.status) filters['status'] = q.status;
      return store.repos.user.list(
        {
          filters,
          ...(q.search ? { search: q.search } : {}),
          ...(q.limit ? { limit: q.limit } : {}),
          ...(q.cursor ? { cursor: q.cursor } : {}),
          ...(q.includeArchived ? { includeArchived: true } : {}),
        },
        ALL,
      );
    },
  );

  app.get(
    '/users/:id',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Get a user',
        tags: TAGS,
        security: AUTHENTICATED,
        params: IdParams,
        response: { 200: User },
      },
    },
    async (request) => {
      const user = await store.repos.user.get(request.params.id, ALL);
      if (!user) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such user');
      return user;
    },
  );

  app.post(
    '/users',
    {
      preHandler: requireAdminWrite,
      schema: {
        summary: 'Create a user; without a password, one is generated and returned once',
        tags: TAGS,
        security: AUTHENTICATED,
        body: CreateUserBody,
        response: { 201: UserWithPassword },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const advertiserIds = b.advertiserIds ?? [];
      const publisherIds = b.publisherIds ?? [];
      const problems = await checkTenancy(store, b.role, advertiserIds, publisherIds);
      if (problems.length > 0) throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'The user breaks a rule', problems);
      const generated = b.password === undefined ? generatePassword() : undefined;
      const passwordHash = await hashPassword(b.password ?? generated!);
      const actor = actorOf(request);
      const user = unwrap(
        await store.repos.user.create(
          {
            email: b.email.trim().toLowerCase(),
            name: b.name,
            role: b.role,
            status: b.status ?? 'active',
            advertiserIds,
            publisherIds,
          },
          actor,
        ),
      );
      await store.credentials.setPasswordHash(user.id, passwordHash, actor);
      reply.code(201);
      return generated ? { user, password: generated } : { user };
    },
  );

  app.patch(
    '/users/:id',
    {
      preHandler: requireAdminWrite,
      schema: {
        summary: 'Change a user: name, email, role, status (disable, archive) and tenants',
        description: 'Send the version you read in the body or in If-Match; 409 if someone changed it since.',
        tags: TAGS,
        security: AUTHENTICATED,
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: User },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { version, ...changes } = request.body;
      const expected = expectedVersion(request.headers['if-match'], version);
      const current = await store.repos.user.get(request.params.id, ALL);
      if (!current) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such user');
      if (current.id === principal.userId) {
        if (changes.role !== undefined && changes.role !== current.role) {
          throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'You cannot change your own role', [
            { path: '/role', message: 'cannot change your own role', code: 'self' },
          ]);
        }
        if (changes.status !== undefined && changes.status !== 'active') {
          throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'You cannot disable yourself', [
            { path: '/status', message: 'cannot disable yourself', code: 'self' },
          ]);
        }
      }
      const { id: _id, version: _v, createdAt: _c, updatedAt: _u, ...fields } = current;
      const next = {
        ...fields,
        ...changes,
        ...(changes.email ? { email: changes.email.trim().toLowerCase() } : {}),
      };
      // Changing the role away from advertiser/publisher drops tenants the caller did not restate.
      if (changes.role && changes.role !== current.role) {
        if (changes.advertiserIds === undefined && next.role !== 'advertiser') next.advertiserIds = [];
        if (changes.publisherIds === undefined && next.role !== 'publisher') next.publisherIds = [];
      }
      const problems = await checkTenancy(store, next.role, next.advertiserIds, next.publisherIds);
      if (problems.length > 0) throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'The user breaks a rule', problems);
      const user = unwrap(await store.repos.user.update(current.id, expected, next, ALL, actorOf(request)));
      if (user.status !== 'active') await store.credentials.deleteSessionsOfUser(user.id);
      return user;
    },
  );

  app.delete(
    '/users/:id',
    {
      preHandler: requireAdminWrite,
      schema: {
        summary: 'Archive a user (ends their sessions; their API keys stop working)',
        tags: TAGS,
        security: AUTHENTICATED,
        params: IdParams,
        response: { 200: User },
      },
    },
    async (request) => {
      if (request.params.id === principalOf(request).userId) {
        throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'You cannot archive yourself');
      }
      const [user] = await store.repos.user.setStatus([request.params.id], 'archived', ALL, actorOf(request));
      if (!user) {
        const existing = await store.repos.user.get(request.params.id, ALL);
        if (!existing) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such user');
        return existing; // already archived
      }
      await store.credentials.deleteSessionsOfUser(user.id);
      return user;
    },
  );

  app.post(
    '/users/:id/password',
    {
      preHandler: requireAdminWrite,
      schema: {
        summary: "Reset a user's password; without one, a password is generated and returned once",
        tags: TAGS,
        security: AUTHENTICATED,
        params: IdParams,
        body: ResetPasswordBody,
        response: { 200: UserWithPassword },
      },
    },
    async (request) => {
      const user = await store.repos.user.get(request.params.id, ALL);
      if (!user) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such user');
      const generated = request.body.password === undefined ? generatePassword() : undefined;
      await store.credentials.setPasswordHash(
        user.id,
        await hashPassword(request.body.password ?? generated!),
        actorOf(request),
      );
      await store.credentials.deleteSessionsOfUser(user.id);
      return generated ? { user, password: generated } : { user };
    },
  );
};
