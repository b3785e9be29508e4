/** First start of an empty store: the admin account. */
import type { User } from '@marquee/core';
import type { Actor, Store } from '@marquee/store';
import { generatePassword, hashPassword } from './http/auth/passwords.ts';

export const SYSTEM_ACTOR: Actor = { userId: null, label: 'system:first-start' };

/** Creates the admin user; returns it with the password (generated when none is given, to be shown once). */
export async function createFirstAdmin(
  store: Store,
  email: string,
  password: string | undefined,
): Promise<{ user: User; password: string; generated: boolean }> {
  const secret = password ?? generatePassword();
  const result = await store.repos.user.create(
    {
      email: email.toLowerCase(),
      name: 'Administrator',
      status: 'active',
      role: 'admin',
      advertiserIds: [],
      publisherIds: [],
    },
    SYSTEM_ACTOR,
  );
  if (result.kind !== 'ok') throw new Error(`Could not create the admin user ${email}: ${result.kind}`);
  await store.credentials.setPasswordHash(result.entity.id, await hashPassword(secret), SYSTEM_ACTOR);
  return { user: result.entity, password: secret, generated: password === undefined };
}
