/**
 * Password hashing with argon2id, OWASP parameters (m=19456 KiB, t=2, p=1): memory-hard, so GPU and
 * ASIC guessing of a stolen hash is expensive. The hash is a PHC string, so parameters can be raised
 * later and old hashes still verify.
 */
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id is a const enum in the type declarations, which isolatedModules cannot inline.
const ARGON2ID = 2;
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // malformed stored hash: never a match
  }
}

let dummyHash: Promise<string> | undefined;
/**
 * Spends the same work as a real verification, for unknown emails and users without a password,
 * so response time does not tell whether an account exists.
 */
export async function verifyDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
  return false;
}

/** A random password for first start or a reset: 20 characters of base64url (120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}
