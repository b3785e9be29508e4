import type { FrequencyCap } from '@marquee/core';
import type { FrequencyCapView } from '@marquee/decision';
import { Redis } from 'ioredis';
import {
  type CappedLineItem,
  capBucket,
  type FrequencyCapStore,
  LoadedFrequencyCapView,
  viewKey,
} from './frequency-cap-store.ts';

/**
 * INCR every bucket of one impression, and set its expiry when the INCR created it, in one script:
 * atomic across workers and servers, one round trip per impression.
 */
const RECORD_SCRIPT = `
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIREAT', KEYS[i], ARGV[i]) end
end
return #KEYS`;

export interface RedisFrequencyCapStoreOptions {
  /** An existing client (shared with other Redis users), or a URL to open one. */
  readonly client?: Redis;
  readonly url?: string;
  /** Prefix of every key, e.g. "mq:" (tests use a unique one per file). */
  readonly keyPrefix?: string;
}

type ScriptedRedis = Redis & {
  mqFcapRecord(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
};

/**
 * Counters in Redis (or Dragonfly), shared by every serving worker. Keys are
 * `<prefix>fc:{<user>}:<lineItem>:<window><span>:<bucket>`; the user part is a hash tag so that a
 * user's counters sit in one cluster slot and one MGET reads them all.
 */
export class RedisFrequencyCapStore implements FrequencyCapStore {
  private readonly redis: ScriptedRedis;
  private readonly owned: boolean;
  private readonly prefix: string;

  constructor(options: RedisFrequencyCapStoreOptions = {}) {
    this.owned = options.client === undefined;
    const client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
    client.defineCommand('mqFcapRecord', { lua: RECORD_SCRIPT });
    this.redis = client as ScriptedRedis;
    this.prefix = `${options.keyPrefix ?? 'mq:'}fc:`;
  }

  private key(userKey: string, lineItemId: string, suffix: string): string {
    // encodeURIComponent keeps braces out of the hash tag whatever the user key holds.
    return `${this.prefix}{${encodeURIComponent(userKey)}}:${lineItemId}:${suffix}`;
  }

  async record(
    userKey: string,
    lineItemId: string,
    caps: readonly FrequencyCap[],
    nowMs: number,
    lifetimeEndMs?: number | null,
  ): Promise<void> {
    if (caps.length === 0) return;
    const keys: string[] = [];
    const expiries: number[] = [];
    for (const cap of caps) {
      const b = capBucket(cap, nowMs, lifetimeEndMs);
      keys.push(this.key(userKey, lineItemId, b.suffix));
      expiries.push(b.expiresAtMs);
    }
    await this.redis.mqFcapRecord(keys.length, ...keys, ...expiries);
  }

  async load(userKey: string, lineItems: readonly CappedLineItem[], nowMs: number): Promise<FrequencyCapView> {
    const keys: string[] = [];
    const names: string[] = [];
    for (const li of lineItems) {
      for (const cap of li.frequencyCaps) {
        keys.push(this.key(userKey, li.id, capBucket(cap, nowMs).suffix));
        names.push(viewKey(li.id, cap));
      }
    }
    const counts = new Map<string, number>();
    if (keys.length > 0) {
      const values = await this.redis.mget(...keys);
      values.forEach((v, i) => {
        if (v !== null) counts.set(names[i]!, Number(v));
      });
    }
    return new LoadedFrequencyCapView(counts);
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit();
  }
}
