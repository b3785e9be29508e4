/**
 * The signed-in user, shared by every screen. The session itself is an httpOnly cookie the dashboard never sees;
 * here we keep who the user is, when the session ends, and why the user was sent back to sign-in.
 */
import type { User } from '@marquee/core';
import { createSignal } from 'solid-js';
import * as api from './api.ts';

const [user, setUser] = createSignal<User | null>(null);
const [expiresAt, setExpiresAt] = createSignal<string | null>(null);
const [notice, setNotice] = createSignal<string | null>(null);
let expiryTimer: ReturnType<typeof setTimeout> | undefined;

export { expiresAt, notice, setNotice, user };

export type Area = 'demand' | 'supply' | 'admin';

/** What a role may see: advertiser users the demand side only, publisher users the supply side only. */
export function canSee(area: Area, u: User | null = user()): boolean {
  if (!u) return false;
  if (area === 'admin') return u.role === 'admin';
  if (area === 'demand') return u.role !== 'publisher';
  return u.role !== 'advertiser';
}
export function canWrite(u: User | null = user()): boolean {
  return !!u && u.role !== 'readonly';
}
export function isAdmin(u: User | null = user()): boolean {
  return u?.role === 'admin';
}

function accept(s: api.Session): void {
  setUser(s.user);
  setExpiresAt(s.expiresAt);
  scheduleExpiryCheck(s.expiresAt);
}

/** Sessions slide with activity, so at the announced end we ask the server whether it really ended. */
function scheduleExpiryCheck(at: string | null): void {
  clearTimeout(expiryTimer);
  if (!at) return;
  const ms = Math.min(Math.max(Date.parse(at) - Date.now() + 1000, 1000), 2_147_000_000);
  expiryTimer = setTimeout(() => {
    api.me().then(accept, () => expire('MQ_ERR_SESSION_EXPIRED'));
  }, ms);
}

export function expire(code: string): void {
  if (!user()) return;
  clearTimeout(expiryTimer);
  setUser(null);
  setNotice(
    code === 'MQ_ERR_SESSION_EXPIRED' ? 'Your session has ended. Sign in again to continue.' : 'Please sign in.',
  );
}

export async function restore(): Promise<boolean> {
  try {
    accept(await api.me());
    return true;
  } catch {
    return false;
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  accept(await api.login(email, password));
  setNotice(null);
}

export async function signOut(): Promise<void> {
  clearTimeout(expiryTimer);
  try {
    await api.logout();
  } finally {
    setUser(null);
    setNotice('You have signed out.');
  }
}

api.setUnauthenticatedHandler(expire);
