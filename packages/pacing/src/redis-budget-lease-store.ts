import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type BudgetLeaseStore,
  type BudgetLeaseStoreOptions,
  type BudgetStatus,
  checkDay,
  checkMicros,
  DAY_SCOPE_TTL_MS,
  DEFAULT_HOLD_MS,
  DEFAULT_LEASE_TTL_MS,
  type Lease,
  type LeaseBudget,
  type ReconcileInput,
  scopeStatus,
} from './budget-lease-store.ts';

/*
 * Key layout, one hash tag per campaign so that every script runs in one cluster slot:
 *   <p>bl:{<campaign>}:life      HASH  li:<id>|lim|spent|res|held and cmp|lim|spent|res|held (lifetime scopes)
 *   <p>bl:{<campaign>}:d:<day>   HASH  the same fields for one budget day; expires 8 days after last use
 *   <p>bl:{<campaign>}:r         HASH  reservation id -> "amount|day|lineItemId|hold(0/1)"
 *   <p>bl:{<campaign>}:x         ZSET  reservation id scored by its expiry (ms)
 * The sweep of expired reservations builds day-key names from the campaign base (same slot, same
 * tag): a reservation may belong to another day than the call's.
 *
 * Numbers leave Lua through string.format('%d'): tostring would print 1e+15 for large amounts.
 */
const COMMON = `
local base = ARGV[1]
local now = tonumber(ARGV[2])
local function n(x) return string.format('%d', x) end
local function num(v) if v then return tonumber(v) else return 0 end end
local function adjust(li, day, field, delta)
  local d = base .. 'd:' .. day
  local life = base .. 'life'
  redis.call('HINCRBY', d, 'li:' .. li .. '|' .. field, n(delta))
  redis.call('HINCRBY', d, 'cmp|' .. field, n(delta))
  redis.call('HINCRBY', life, 'li:' .. li .. '|' .. field, n(delta))
  redis.call('HINCRBY', life, 'cmp|' .. field, n(delta))
end
local function sweep()
  local ids = redis.call('ZRANGEBYSCORE', base .. 'x', '-inf', n(now))
  for _, id in ipairs(ids) do
    local rec = redis.call('HGET', base .. 'r', id)
    if rec then
      local amount, day, li, hold = string.match(rec, '^(%d+)|([^|]+)|(.*)|([01])$')
      amount = tonumber(amount)
      adjust(li, day, 'res', -amount)
      if hold == '1' then adjust(li, day, 'held', -amount) end
      redis.call('HDEL', base .. 'r', id)
    end
    redis.call('ZREM', base .. 'x', id)
  end
end
local function touchDay(day, ttl)
  redis.call('PEXPIREAT', base .. 'd:' .. day, n(now + ttl))
end
`;

/** ARGV: base, now, li, day, want, 4 limits ('' = none), id, expiresAt, dayTtl. Returns the grant. */
const RESERVE = `${COMMON}
sweep()
local li, day, want = ARGV[3], ARGV[4], tonumber(ARGV[5])
local d, life = base .. 'd:' .. day, base .. 'life'
local scopes = { {d, 'li:' .. li .. '|'}, {life, 'li:' .. li .. '|'}, {d, 'cmp|'}, {life, 'cmp|'} }
local g = want
for i = 1, 4 do
  local key, f = scopes[i][1], scopes[i][2]
  local lim = ARGV[5 + i]
  if lim == '' then
    redis.call('HDEL', key, f .. 'lim')
  else
    redis.call('HSET', key, f .. 'lim', lim)
    local room = tonumber(lim) - num(redis.call('HGET', key, f .. 'spent')) - num(redis.call('HGET', key, f .. 'res'))
    if room < g then g = room end
  end
end
if g < 0 then g = 0 end
if g > 0 then
  adjust(li, day, 'res', g)
  redis.call('HSET', base .. 'r', ARGV[10], n(g) .. '|' .. day .. '|' .. li .. '|0')
  redis.call('ZADD', base .. 'x', ARGV[11], ARGV[10])
end
touchDay(day, tonumber(ARGV[12]))
return g`;

/** ARGV: base, now, li, day, id, used, holdUntil, dayTtl. Returns the micros released. */
const SETTLE = `${COMMON}
sweep()
local li, day, id, used = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local holdId = id .. ':h'
if redis.call('HEXISTS', base .. 'r', holdId) == 1 then return 0 end
local released = 0
local rec = id ~= '' and redis.call('HGET', base .. 'r', id)
if rec then
  local amount = tonumber(string.match(rec, '^(%d+)|'))
  adjust(li, day, 'res', -amount)
  redis.call('HDEL', base .. 'r', id)
  redis.call('ZREM', base .. 'x', id)
  released = amount - used
  if released < 0 then released = 0 end
end
if used > 0 then
  adjust(li, day, 'res', used)
  adjust(li, day, 'held', used)
  redis.call('HSET', base .. 'r', holdId, n(used) .. '|' .. day .. '|' .. li .. '|1')
  redis.call('ZADD', base .. 'x', ARGV[7], holdId)
end
touchDay(day, tonumber(ARGV[8]))
return released`;

/** ARGV: base, now, li, day, micros, dayTtl. */
const RECORD = `${COMMON}
adjust(ARGV[3], ARGV[4], 'spent', tonumber(ARGV[5]))
touchDay(ARGV[4], tonumber(ARGV[6]))
return 1`;

/** ARGV: base, now, li, day, dayMicros, lifetimeMicros ('' = unknown), dayTtl. */
const RECONCILE = `${COMMON}
local li, day = ARGV[3], ARGV[4]
local d, life = base .. 'd:' .. day, base .. 'life'
local f = 'li:' .. li .. '|spent'
local dDay = tonumber(ARGV[5]) - num(redis.call('HGET', d, f))
if dDay > 0 then
  redis.call('HINCRBY', d, f, n(dDay))
  redis.call('HINCRBY', d, 'cmp|spent', n(dDay))
end
if ARGV[6] ~= '' then
  local dLife = tonumber(ARGV[6]) - num(redis.call('HGET', life, f))
  if dLife > 0 then
    redis.call('HINCRBY', life, f, n(dLife))
    redis.call('HINCRBY', life, 'cmp|spent', n(dLife))
  end
end
touchDay(day, tonumber(ARGV[7]))
return 1`;

/** ARGV: base, now, li, day. Returns 16 values: lim, spent, res, held for li day, li life, cmp day, cmp life. */
const STATUS = `${COMMON}
sweep()
local li, day = ARGV[3], ARGV[4]
local d, life = base .. 'd:' .. day, base .. 'life'
local out = {}
for _, s in ipairs({ {d, 'li:' .. li .. '|'}, {life, 'li:' .. li .. '|'}, {d, 'cmp|'}, {life, 'cmp|'} }) do
  for _, f in ipairs({'lim', 'spent', 'res', 'held'}) do
    local v = redis.call('HGET', s[1], s[2] .. f)
    if v then table.insert(out, v) else table.insert(out, '') end
  end
end
return out`;

type Argv = (string | number)[];
type ScriptedRedis = Redis & {
  mqBlReserve(numKeys: number, ...args: Argv): Promise<number>;
  mqBlSettle(numKeys: number, ...args: Argv): Promise<number>;
  mqBlRecord(numKeys: number, ...args: Argv): Promise<number>;
  mqBlReconcile(numKeys: number, ...args: Argv): Promise<number>;
  mqBlStatus(numKeys: number, ...args: Argv): Promise<string[]>;
};

export interface RedisBudgetLeaseStoreOptions extends BudgetLeaseStoreOptions {
  /** An existing client (shared with other Redis users), or a URL to open one. */
  readonly client?: Redis;
  readonly url?: string;
  /** Prefix of every key, e.g. "mq:" (tests use a unique one per file). */
  readonly keyPrefix?: string;
}

/**
 * Leases in Redis (or Dragonfly), shared by every worker of every server. Each operation is one Lua
 * script, atomic: two workers can never be granted the same micro.
 */
export class RedisBudgetLeaseStore implements BudgetLeaseStore {
  private readonly redis: ScriptedRedis;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly leaseTtlMs: number;
  private readonly holdMs: number;

  constructor(options: RedisBudgetLeaseStoreOptions = {}) {
    this.owned = options.client === undefined;
    const client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379');
    client.defineCommand('mqBlReserve', { lua: RESERVE });
    client.defineCommand('mqBlSettle', { lua: SETTLE });
    client.defineCommand('mqBlRecord', { lua: RECORD });
    client.defineCommand('mqBlReconcile', { lua: RECONCILE });
    client.defineCommand('mqBlStatus', { lua: STATUS });
    this.redis = client as ScriptedRedis;
    this.prefix = `${options.keyPrefix ?? 'mq:'}bl:`;
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.holdMs = options.holdMs ?? DEFAULT_HOLD_MS;
  }

  /** The campaign's key base; the declared keys let Redis (Cluster) route the script. */
  private keys(campaignId: string, day: string): [string, string[]] {
    // encodeURIComponent keeps braces out of the hash tag.
    const base = `${this.prefix}{${encodeURIComponent(campaignId)}}:`;
    return [base, [`${base}life`, `${base}d:${day}`, `${base}r`, `${base}x`]];
  }

  async reserve(lineItemId: string, day: string, wantMicros: number, budget: LeaseBudget, nowMs: number) {
    checkMicros('wantMicros', wantMicros);
    checkDay(day);
    const [base, keys] = this.keys(budget.campaignId, day);
    const id = randomUUID();
    const expiresAtMs = nowMs + this.leaseTtlMs;
    const lim = (v: number | null) => (v === null ? '' : v);
    const granted = Number(
      await this.redis.mqBlReserve(
        keys.length,
        ...keys,
        base,
        nowMs,
        lineItemId,
        day,
        wantMicros,
        lim(budget.lineItemDailyMicros),
        lim(budget.lineItemLifetimeMicros),
        lim(budget.campaignDailyMicros),
        lim(budget.campaignLifetimeMicros),
        id,
        expiresAtMs,
        DAY_SCOPE_TTL_MS,
      ),
    );
    return {
      id: granted > 0 ? id : '',
      lineItemId,
      campaignId: budget.campaignId,
      day,
      grantedMicros: granted,
      expiresAtMs,
    } satisfies Lease;
  }

  async settle(lease: Lease, usedMicros: number, nowMs: number): Promise<number> {
    checkMicros('usedMicros', usedMicros);
    if (lease.id === '' && usedMicros === 0) return 0;
    const [base, keys] = this.keys(lease.campaignId, lease.day);
    // A used slice of a never-granted lease (overdraft) still needs a unique hold id.
    const id = lease.id === '' ? randomUUID() : lease.id;
    return Number(
      await this.redis.mqBlSettle(
        keys.length,
        ...keys,
        base,
        nowMs,
        lease.lineItemId,
        lease.day,
        id,
        usedMicros,
        nowMs + this.holdMs,
        DAY_SCOPE_TTL_MS,
      ),
    );
  }

  async recordSpend(lineItemId: string, campaignId: string, day: string, micros: number, nowMs: number) {
    checkMicros('micros', micros);
    checkDay(day);
    if (micros === 0) return;
    const [base, keys] = this.keys(campaignId, day);
    await this.redis.mqBlRecord(keys.length, ...keys, base, nowMs, lineItemId, day, micros, DAY_SCOPE_TTL_MS);
  }

  async reconcile(input: ReconcileInput, nowMs: number): Promise<void> {
    checkMicros('dayMicros', input.dayMicros);
    checkDay(input.day);
    if (input.lifetimeMicros !== undefined) checkMicros('lifetimeMicros', input.lifetimeMicros);
    const [base, keys] = this.keys(input.campaignId, input.day);
    await this.redis.mqBlReconcile(
      keys.length,
      ...keys,
      base,
      nowMs,
      input.lineItemId,
      input.day,
      input.dayMicros,
      input.lifetimeMicros ?? '',
      DAY_SCOPE_TTL_MS,
    );
  }

  async status(lineItemId: string, campaignId: string, day: string, nowMs: number): Promise<BudgetStatus> {
    checkDay(day);
    const [base, keys] = this.keys(campaignId, day);
    const v = await this.redis.mqBlStatus(keys.length, ...keys, base, nowMs, lineItemId, day);
    const at = (i: number) => {
      const lim = v[i * 4] ?? '';
      const num = (s: string | undefined) => (s ? Number(s) : 0);
      return scopeStatus(lim === '' ? null : Number(lim), num(v[i * 4 + 1]), num(v[i * 4 + 2]), num(v[i * 4 + 3]));
    };
    return { lineItemDay: at(0), lineItemLifetime: at(1), campaignDay: at(2), campaignLifetime: at(3) };
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit();
  }
}
