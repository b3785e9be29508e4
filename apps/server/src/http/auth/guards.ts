/**
 * Guards for route modules. Use them as hooks (`preHandler: [requireWrite]`) or call `principalOf(request)`
 * in a handler to get the caller (throws 401 when anonymous).
 *
 * @example app.post('/things', { preHandler: requireWrite, schema }, async (req) => repo.create(..., actorOf(req)))
 */
import type { Actor } from '@marquee/store';
import type { FastifyRequest } from 'fastify';
import { MarqueeError } from '../errors.ts';
import type { Principal } from '../principal.ts';

/** The caller; 401 (with the reason: expired session, bad key, or none sent) when anonymous. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal) throw new MarqueeError(request.authFailure ?? 'MQ_ERR_UNAUTHENTICATED');
  return principal;
}

export async function requireAuth(request: FastifyRequest): Promise<void> {
  principalOf(request);
}

/** 403 for the readonly role and read-scoped API keys. */
export async function requireWrite(request: FastifyRequest): Promise<void> {
  if (!principalOf(request).canWrite) {
    throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Your role or API key is read-only');
  }
}

/** Admins only (a read-scoped admin key may read but not write: combine with requireWrite for writes). */
export async function requireAdmin(request: FastifyRequest): Promise<void> {
  if (principalOf(request).role !== 'admin') throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Only admins may do this');
}

export async function requireAdminWrite(request: FastifyRequest): Promise<void> {
  await requireAdmin(request);
  await requireWrite(request);
}

/** Who made a change, for the audit log. */
export function actorOf(request: FastifyRequest): Actor {
  const p = principalOf(request);
  return {
    userId: p.userId,
    apiKeyId: p.apiKeyId,
    label: p.via === 'api_key' ? `${p.email} (API key)` : p.email,
    requestId: request.id,
  };
}
