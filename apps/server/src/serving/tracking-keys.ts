/**
 * The tracking URL signing keys: from configuration (MARQUEE_TRACKING_KEYS, shared by every node of a
 * cluster), else a key generated on first start and kept under the data directory (mode 0600).
 * To rotate: put a new key first in MARQUEE_TRACKING_KEYS and keep the old one after it until the
 * URLs it signed have expired (MARQUEE_TRACKING_TTL_SECONDS).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, type SigningKey } from '@marquee/tracking';

export function parseTrackingKeys(text: string): SigningKey[] {
  return text.split(',').map((pair) => {
    const [kid, secret] = pair.split(':') as [string, string];
    return { kid, secret: Buffer.from(secret, secret.includes('-') || secret.includes('_') ? 'base64url' : 'base64') };
  });
}

export function formatTrackingKeys(keys: readonly SigningKey[]): string {
  return keys.map((k) => `${k.kid}:${k.secret.toString('base64url')}`).join(',');
}

export function loadTrackingKeys(configured: string | undefined, dataDir: string): SigningKey[] {
  if (configured) return parseTrackingKeys(configured);
  const file = join(dataDir, 'tracking-keys');
  try {
    return parseTrackingKeys(readFileSync(file, 'utf8').trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keys = [generateSigningKey(`k${Date.now().toString(36)}`.slice(0, 16))];
  mkdirSync(dataDir, { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${formatTrackingKeys(keys)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return keys;
}
