import type { Role } from '@marquee/core';
import type { Scope } from '@marquee/store';
import type {} from 'fastify';

/**
 * Who is calling, set on `request.principal` by the auth plugin for every authenticated request.
 * Route handlers never read cookies or headers for identity; they use this.
 */
export interface Principal {
  readonly userId: string;
  readonly email: string;
  readonly role: Role;
  readonly advertiserIds: readonly string[];
  readonly publisherIds: readonly string[];
  /** Store scope for this caller: ALL for admin and readonly, tenant otherwise. */
  readonly scope: Scope;
  /** False for the readonly role and for API keys with scope "read". */
  readonly canWrite: boolean;
  readonly via: 'session' | 'api_key';
  readonly apiKeyId: string | null;
  readonly sessionId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
