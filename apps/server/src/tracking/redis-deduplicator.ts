import { Redis } from 'ioredis';
import type { ClaimRequest, Deduplicator } from './deduplicator.ts';

export interface RedisDeduplicatorOptions {
  readonly url?: string;
  /** An existing client (shared connection); not closed by close(). */
  readonly client?: Redis;
  /** Prefix of every key (tests use a unique one; servers of one network share one). Default "mq:dd:". */
  readonly prefix?: string;
}

/**
 * limit 1 (impressions, viewables, orders) is one `SET key 1 NX PXAT expiry`: set only when absent,
 * expiring with the token. limit > 1 (several clicks per ad) counts with INCR and PEXPIREAT in one Lua call.
 * A batch goes out as one pipeline: one round trip for thousands of claims.
 */
const COUNT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return 0 end
return 1`;

export class RedisDeduplicator implements Deduplicator {
  private readonly client: Redis;
  private readonly owned: boolean;
  private readonly prefix: string;

  constructor(options: RedisDeduplicatorOptions = {}) {
    this.client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
    this.owned = options.client === undefined;
    this.prefix = options.prefix ?? 'mq:dd:';
    this.client.defineCommand('mqDedupCount', { numberOfKeys: 1, lua: COUNT_SCRIPT });
  }

  async claim(request: ClaimRequest): Promise<boolean> {
    const [result] = await this.claimMany([request]);
    return result!;
  }

  async claimMany(requests: readonly ClaimRequest[]): Promise<boolean[]> {
    if (requests.length === 0) return [];
    const pipeline = this.client.pipeline();
    const nowMs = Date.now();
    for (const r of requests) {
      const key = this.prefix + r.key;
      // An already expired key cannot be set with PXAT in the past; it is accepted without memory (the
      // token check refuses expired URLs before they get here).
      const at = Math.max(r.expiresAtMs, nowMs + 1);
      if (r.limit === 1) pipeline.set(key, '1', 'PXAT', at, 'NX');
      else
        (pipeline as unknown as { mqDedupCount(k: string, l: number, a: number): void }).mqDedupCount(key, r.limit, at);
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, value], i) => {
      if (err) throw err;
      return requests[i]!.limit === 1 ? value === 'OK' : value === 1;
    });
  }

  async release(key: string): Promise<void> {
    // Counted keys go down by one; SET NX keys disappear (DECR would turn '1' into 0, same effect for limit 1).
    const k = this.prefix + key;
    const n = await this.client.decr(k);
    if (n <= 0) await this.client.del(k);
  }

  async close(): Promise<void> {
    if (this.owned) await this.client.quit();
  }
}
