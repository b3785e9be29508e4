/**
 * Limits password guessing: failed logins are counted per account (the email, known or not) and per client IP
 * within a sliding window. The in-process implementation suits one server; a shared one (Redis) implements the
 * same port for several.
 */
export interface LoginThrottle {
  /** Seconds until an attempt for this account from this IP is allowed again; 0 when it is allowed now. */
  retryAfterSeconds(account: string, ip: string): Promise<number>;
  recordFailure(account: string, ip: string): Promise<void>;
  /** A successful login clears the account's failures (the IP's stay: one account may be a decoy). */
  recordSuccess(account: string, ip: string): Promise<void>;
}

export interface LoginThrottleOptions {
  readonly maxFailuresPerAccount: number;
  readonly maxFailuresPerIp: number;
  readonly windowSeconds: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
  /** Most keys remembered; the oldest are forgotten first. */
  readonly maxKeys?: number;
}

export class InMemoryLoginThrottle implements LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(private readonly options: LoginThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowSeconds * 1000;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  async retryAfterSeconds(account: string, ip: string): Promise<number> {
    const now = this.now();
    const wait = Math.max(
      this.waitMs(`a:${account}`, this.options.maxFailuresPerAccount, now),
      this.waitMs(`i:${ip}`, this.options.maxFailuresPerIp, now),
    );
    return Math.ceil(wait / 1000);
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    const now = this.now();
    this.push(`a:${account}`, this.options.maxFailuresPerAccount, now);
    this.push(`i:${ip}`, this.options.maxFailuresPerIp, now);
  }

  async recordSuccess(account: string, _ip: string): Promise<void> {
    this.failures.delete(`a:${account}`);
  }

  private recent(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const fresh = list.filter((t) => t > now - this.windowMs);
    if (fresh.length === 0) this.failures.delete(key);
    else if (fresh.length !== list.length) this.failures.set(key, fresh);
    return fresh;
  }

  private waitMs(key: string, max: number, now: number): number {
    const list = this.recent(key, now);
    if (list.length < max) return 0;
    // Blocked until the oldest failure that still counts leaves the window.
    const oldest = list[list.length - max]!;
    return oldest + this.windowMs - now;
  }

  private push(key: string, max: number, now: number): void {
    const list = this.recent(key, now);
    list.push(now);
    // Only the newest `max` failures matter.
    if (list.length > max) list.splice(0, list.length - max);
    this.failures.delete(key); // re-insert: Map order is then least recently failed first
    this.failures.set(key, list);
    if (this.failures.size > this.maxKeys) {
      const first = this.failures.keys().next().value;
      if (first !== undefined) this.failures.delete(first);
    }
  }
}
