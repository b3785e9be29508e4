/**
 * API keys for machines: `mq_` + 256 random bits, shown once at creation; the store keeps the SHA-256.
 * `Authorization: Bearer mq_...`. lastUsedAt is written at most once a minute per key.
 */
import { type ApiKey, newId } from '@marquee/core';
import type { Actor, Credentials } from '@marquee/store';
import type { FastifyBaseLogger } from 'fastify';
import { API_KEY_PREFIX, newApiKeySecret, sha256Hex } from './tokens.ts';

export interface ApiKeyManager {
  issue(
    userId: string,
    fields: { name: string; scope: 'read' | 'write'; expiresAt: string | null },
    actor: Actor,
  ): Promise<{ apiKey: ApiKey; secret: string }>;
  /** The active, unexpired key of a secret, or undefined. */
  resolve(secret: string): Promise<ApiKey | undefined>;
}

const MARK_USED_EVERY_MS = 60_000;
const SECRET_SHAPE = /^mq_[A-Za-z0-9_-]{43}$/;

export function createApiKeyManager(options: {
  credentials: Credentials;
  logger: FastifyBaseLogger;
  now?: () => number;
}): ApiKeyManager {
  const { credentials, logger } = options;
  const now = options.now ?? Date.now;
  const lastMarked = new Map<string, number>();

  function markUsed(id: string): void {
    const t = now();
    const last = lastMarked.get(id);
    if (last !== undefined && t - last < MARK_USED_EVERY_MS) return;
    lastMarked.set(id, t);
    if (lastMarked.size > 100_000) lastMarked.clear();
    // Off the request path: a failed bookkeeping write must not fail the request.
    credentials.markApiKeyUsed(id, new Date(t)).catch((err: unknown) => {
      logger.warn({ err, apiKeyId: id }, 'could not record API key use');
    });
  }

  return {
    async issue(userId, fields, actor) {
      const secret = newApiKeySecret();
      const at = new Date(now()).toISOString();
      const apiKey: ApiKey = {
        id: newId('apiKey'),
        version: 1,
        createdAt: at,
        updatedAt: at,
        userId,
        name: fields.name,
        prefix: secret.slice(0, API_KEY_PREFIX.length + 6),
        scope: fields.scope,
        status: 'active',
        lastUsedAt: null,
        expiresAt: fields.expiresAt,
      };
      await credentials.createApiKey({ ...apiKey, hash: sha256Hex(secret) }, actor);
      return { apiKey, secret };
    },
    async resolve(secret) {
      if (!SECRET_SHAPE.test(secret)) return undefined;
      const key = await credentials.findApiKeyByHash(sha256Hex(secret));
      if (key?.status !== 'active') return undefined;
      if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now()) return undefined;
      markUsed(key.id);
      return key;
    },
  };
}
