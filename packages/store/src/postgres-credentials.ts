/**
 * Secrets of authentication: password hashes (computed by the server; we only store them), sessions
 * with expiry, and API keys stored by the SHA-256 of their secret (the secret itself is never stored).
 */
import type { ApiKey, User } from '@marquee/core';
import type { Selectable } from 'kysely';
import type { Database } from './database.ts';
import type { Actor, Credentials, StoredUser } from './ports.ts';
import type { StoreContext } from './store-context.ts';
import { writeTransaction } from './write-transaction.ts';

type ApiKeyRow = Selectable<Database['api_keys']>;

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  version: r.version,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  userId: r.user_id,
  name: r.name,
  prefix: r.prefix,
  scope: r.scope as ApiKey['scope'],
  status: r.status as ApiKey['status'],
  lastUsedAt: r.last_used_at ? r.last_used_at.toISOString() : null,
  expiresAt: r.expires_at ? r.expires_at.toISOString() : null,
});

export class PostgresCredentials implements Credentials {
  readonly #ctx: StoreContext;
  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async findUserByEmail(email: string): Promise<StoredUser | undefined> {
    const row = await this.#ctx.db
      .selectFrom('users')
      .select(['data', 'password_hash'])
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .where('status', '<>', 'archived')
      .executeTakeFirst();
    return row ? { ...(row.data as User), passwordHash: row.password_hash } : undefined;
  }

  /** Audited and put on the change feed (the user row changed), never with the hash itself. */
  async setPasswordHash(userId: string, hash: string, actor: Actor): Promise<void> {
    await writeTransaction(this.#ctx, async (trx, record) => {
      const row = await trx
        .updateTable('users')
        .set({ password_hash: hash, updated_at: new Date() })
        .where('id', '=', userId)
        .returning('data')
        .executeTakeFirst();
      if (!row) return;
      record.change({ kind: 'user', id: userId, op: 'update', entity: row.data });
      record.audit({
        actor,
        action: 'password',
        kind: 'user',
        entityId: userId,
        before: null,
        after: null,
        advertiserId: null,
        publisherId: null,
      });
    });
  }

  async createSession(session: { id: string; userId: string; csrfToken: string; expiresAt: Date }): Promise<void> {
    await this.#ctx.db
      .insertInto('sessions')
      .values({
        id: session.id,
        user_id: session.userId,
        csrf_token: session.csrfToken,
        expires_at: session.expiresAt,
        created_at: new Date(),
      })
      .execute();
  }

  async getSession(id: string): Promise<{ userId: string; csrfToken: string; expiresAt: Date } | undefined> {
    const row = await this.#ctx.db
      .selectFrom('sessions')
      .select(['user_id', 'csrf_token', 'expires_at'])
      .where('id', '=', id)
      .where('expires_at', '>', new Date())
      .executeTakeFirst();
    return row ? { userId: row.user_id, csrfToken: row.csrf_token, expiresAt: row.expires_at } : undefined;
  }

  async touchSession(id: string, expiresAt: Date): Promise<void> {
    await this.#ctx.db.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', id).execute();
  }

  async deleteSession(id: string): Promise<void> {
    await this.#ctx.db.deleteFrom('sessions').where('id', '=', id).execute();
  }

  async deleteSessionsOfUser(userId: string): Promise<void> {
    await this.#ctx.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  async createApiKey(key: ApiKey & { hash: string }, actor: Actor): Promise<void> {
    await writeTransaction(this.#ctx, async (trx, record) => {
      await trx
        .insertInto('api_keys')
        .values({
          id: key.id,
          user_id: key.userId,
          name: key.name,
          prefix: key.prefix,
          scope: key.scope,
          status: key.status,
          hash: key.hash,
          version: key.version,
          last_used_at: key.lastUsedAt,
          expires_at: key.expiresAt,
          created_at: key.createdAt,
          updated_at: key.updatedAt,
        })
        .execute();
      const { hash: _secret, ...after } = key;
      record.audit({
        actor,
        action: 'create',
        kind: 'apiKey',
        entityId: key.id,
        before: null,
        after,
        advertiserId: null,
        publisherId: null,
      });
    });
  }

  async findApiKeyByHash(hash: string): Promise<ApiKey | undefined> {
    const row = await this.#ctx.db
      .selectFrom('api_keys')
      .selectAll()
      .where('hash', '=', hash)
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
      .executeTakeFirst();
    return row ? toApiKey(row) : undefined;
  }

  async listApiKeys(userId: string | null): Promise<ApiKey[]> {
    let query = this.#ctx.db.selectFrom('api_keys').selectAll().orderBy('id');
    if (userId !== null) query = query.where('user_id', '=', userId);
    return (await query.execute()).map(toApiKey);
  }

  async revokeApiKey(id: string, actor: Actor): Promise<ApiKey | undefined> {
    return writeTransaction(this.#ctx, async (trx, record) => {
      const before = await trx.selectFrom('api_keys').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!before) return undefined;
      if (before.status === 'revoked') return toApiKey(before);
      const row = await trx
        .updateTable('api_keys')
        .set((eb) => ({ status: 'revoked', version: eb('version', '+', 1), updated_at: new Date() }))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const key = toApiKey(row);
      record.audit({
        actor,
        action: 'revoke',
        kind: 'apiKey',
        entityId: id,
        before: toApiKey(before),
        after: key,
        advertiserId: null,
        publisherId: null,
      });
      return key;
    });
  }

  async markApiKeyUsed(id: string, at: Date): Promise<void> {
    await this.#ctx.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
