import { Redis } from 'ioredis';
import type { LoginThrottle, LoginThrottleOptions } from './login-throttle.ts';

/**
 * Records one failure for the account key and the IP key: push the time, keep the newest `max` times, and
 * expire the list a window after its last failure. One script, so it is atomic across workers and servers.
 *
 * A list of the newest `max` failure times rather than an INCR counter: a counter gives a fixed window (up to
 * 2 × max − 1 guesses across a window edge) and cannot tell when the oldest failure that counts leaves the
 * window; the list gives the in-process throttle's sliding window exactly, in at most `max` entries per key.
 * KEYS: account, ip. ARGV: now ms, window ms, max per account, max per IP.
 */
const RECORD_SCRIPT = `
local now = ARGV[1]
local window = tonumber(ARGV[2])
for i = 1, 2 do
  redis.call('LPUSH', KEYS[i], now)
  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[2 + i]) - 1)
  redis.call('PEXPIRE', KEYS[i], window)
end
return 1`;

/**
 * Milliseconds to wait: for each key, the `max`-th newest failure (the oldest one that counts) blocks until it
 * leaves the window. KEYS and ARGV as RECORD_SCRIPT.
 */
const WAIT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i = 1, 2 do
  local t = redis.call('LINDEX', KEYS[i], tonumber(ARGV[2 + i]) - 1)
  if t then
    local w = tonumber(t) + window - now
    if w > wait then wait = w end
  end
end
return wait`;

export interface RedisLoginThrottleOptions extends Omit<LoginThrottleOptions, 'maxKeys'> {
  /** An existing client (shared with other Redis users; not closed by close()), or a URL to open one. */
  readonly client?: Redis;
  readonly url?: string;
  /** Prefix of every key; servers of one network share one (tests use a unique one). Default "mq:lt:". */
  readonly keyPrefix?: string;
}

type ScriptedRedis = Redis & {
  mqLoginRecord(
    account: string,
    ip: string,
    now: number,
    windowMs: number,
    maxA: number,
    maxI: number,
  ): Promise<number>;
  mqLoginWait(account: string, ip: string, now: number, windowMs: number, maxA: number, maxI: number): Promise<number>;
};

/**
 * The login throttle shared by every worker and server through Redis: the same sliding window as
 * InMemoryLoginThrottle. Keys `<prefix>a:<account>` and `<prefix>i:<ip>` each hold the newest failure times and
 * expire a window after the last one (no maxKeys: Redis forgets by expiry). Times come from `now` on each server,
 * so servers' clocks should agree (NTP); a skew of s seconds only moves a lockout by s.
 */
export class RedisLoginThrottle implements LoginThrottle {
  private readonly redis: ScriptedRedis;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly windowMs: number;

  constructor(private readonly options: RedisLoginThrottleOptions) {
    this.owned = options.client === undefined;
    const client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
    client.defineCommand('mqLoginRecord', { numberOfKeys: 2, lua: RECORD_SCRIPT });
    client.defineCommand('mqLoginWait', { numberOfKeys: 2, lua: WAIT_SCRIPT });
    this.redis = client as ScriptedRedis;
    this.prefix = options.keyPrefix ?? 'mq:lt:';
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowSeconds * 1000;
  }

  async retryAfterSeconds(account: string, ip: string): Promise<number> {
    const { maxFailuresPerAccount, maxFailuresPerIp } = this.options;
    const wait = await this.redis.mqLoginWait(
      this.accountKey(account),
      this.ipKey(ip),
      this.now(),
      this.windowMs,
      maxFailuresPerAccount,
      maxFailuresPerIp,
    );
    return Math.ceil(Number(wait) / 1000);
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    const { maxFailuresPerAccount, maxFailuresPerIp } = this.options;
    await this.redis.mqLoginRecord(
      this.accountKey(account),
      this.ipKey(ip),
      this.now(),
      this.windowMs,
      maxFailuresPerAccount,
      maxFailuresPerIp,
    );
  }

  async recordSuccess(account: string, _ip: string): Promise<void> {
    await this.redis.del(this.accountKey(account));
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit();
  }

  private accountKey(account: string): string {
    // encodeURIComponent: an account name cannot forge another key (or a cluster hash tag).
    return `${this.prefix}a:${encodeURIComponent(account)}`;
  }

  private ipKey(ip: string): string {
    return `${this.prefix}i:${encodeURIComponent(ip)}`;
  }
}
