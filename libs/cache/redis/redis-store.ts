import { Redis } from 'ioredis';
import type { SharedStore, StoreHealth } from '../store.port.js';
import { RetryableError } from '../../model/index.js';

// The shared-state port on Redis (ioredis). Multi-key calls are one pipeline, one round trip
// (research/performance.md §5: a serial await caps at ~18k ops/s, a pipeline of 100 at ~180k).
// Redis being down is retryable for the caller (ingest answers 503, stages back off).

// Token bucket as one atomic script: state is {tokens, at} in a hash with an expiry. Tokens may
// go negative: a cost above the burst is taken from a full bucket, in full (store.port.ts).
const TAKE_TOKENS = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1]) or burst
local at = tonumber(s[2]) or now
tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
local need = math.min(cost, burst)
local allowed = 0
local wait = 0
if tokens >= need then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((need - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
-- kept until the bucket is full again, debt included
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, wait}
`;

export interface RedisStoreOptions {
  url: string;
  /** prefix of every key (EMBER_NAMESPACE); ioredis adds it to every command's keys */
  namespace?: string;
  /** per command */
  commandTimeoutMs: number;
  log: (level: 'error' | 'warn' | 'info', message: string) => void;
}

export class RedisStore implements SharedStore {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private closed = false;

  constructor(private readonly options: RedisStoreOptions) {
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      keyPrefix: options.namespace ? `${options.namespace}` : undefined,
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    let lastError = '';
    this.redis.on('error', (err: Error) => {
      // ioredis repeats the same connection error on every retry; say it once per change
      if (err.message !== lastError) options.log('warn', `redis: ${err.message}`);
      lastError = err.message;
    });
    this.redis.on('ready', () => (lastError = ''));
    this.redis.defineCommand('emberTakeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS });
  }

  async connect(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect();
    await this.redis.ping();
  }

  async claim(keys: readonly string[], ttlMs: number): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const p = this.redis.pipeline();
    for (const k of keys) p.set(k, '1', 'PX', ttlMs, 'NX');
    const res = await this.exec(p, 'claim');
    return res.map((r) => r === 'OK');
  }

  async release(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.call(() => this.redis.del(...keys), 'release');
  }

  async exists(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const p = this.redis.pipeline();
    for (const k of keys) p.exists(k);
    const res = await this.exec(p, 'exists');
    return res.map((r) => r === 1);
  }

  async mark(keys: readonly string[], ttlMs: number): Promise<void> {
    if (keys.length === 0) return;
    const p = this.redis.pipeline();
    for (const k of keys) p.set(k, '1', 'PX', ttlMs);
    await this.exec(p, 'mark');
  }

  async takeTokens(
    key: string,
    ratePerSec: number,
    burst: number,
    cost: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const r = await this.call(
      () =>
        (
          this.redis as unknown as {
            emberTakeTokens(k: string, a: number, b: number, c: number): Promise<[number, number]>;
          }
        ).emberTakeTokens(key, ratePerSec, burst, cost),
      'takeTokens',
    );
    return { allowed: r[0] === 1, retryAfterMs: r[1] };
  }

  async hashSet(
    key: string,
    fields: Readonly<Record<string, string>>,
    ttlMs: number,
  ): Promise<void> {
    const entries = Object.entries(fields);
    if (entries.length === 0) return;
    const p = this.redis.pipeline();
    p.hset(key, ...entries.flat());
    p.pexpire(key, ttlMs);
    await this.exec(p, 'hashSet');
  }

  async hashGetAll(key: string): Promise<Record<string, string>> {
    return this.call(() => this.redis.hgetall(key), 'hashGetAll');
  }

  async hashDelete(key: string, fields: readonly string[]): Promise<void> {
    if (fields.length === 0) return;
    await this.call(() => this.redis.hdel(key, ...fields), 'hashDelete');
  }

  async setAdd(
    entries: readonly { key: string; members: readonly string[] }[],
    ttlMs: number,
  ): Promise<void> {
    const p = this.redis.pipeline();
    let n = 0;
    for (const { key, members } of entries) {
      if (members.length === 0) continue;
      p.sadd(key, ...members);
      p.pexpire(key, ttlMs);
      n++;
    }
    if (n > 0) await this.exec(p, 'setAdd');
  }

  async setHas(
    entries: readonly { key: string; members: readonly string[] }[],
  ): Promise<boolean[][]> {
    const p = this.redis.pipeline();
    const asked = entries.filter((e) => e.members.length > 0);
    for (const { key, members } of asked) p.smismember(key, ...members);
    const res = asked.length > 0 ? await this.exec(p, 'setHas') : [];
    let i = 0;
    return entries.map((e) =>
      e.members.length === 0 ? [] : (res[i++] as number[]).map((x) => x === 1),
    );
  }

  async setMembers(key: string): Promise<string[]> {
    return this.call(() => this.redis.smembers(key), 'setMembers');
  }

  async countDistinct(
    entries: readonly { key: string; values: readonly string[] }[],
    ttlMs: number,
  ): Promise<number[]> {
    if (entries.length === 0) return [];
    const p = this.redis.pipeline();
    for (const { key, values } of entries) {
      if (values.length > 0) p.pfadd(key, ...values);
      p.pexpire(key, ttlMs);
      p.pfcount(key);
    }
    const res = await this.exec(p, 'countDistinct');
    const out: number[] = [];
    let i = 0;
    for (const e of entries) {
      i += e.values.length > 0 ? 2 : 1;
      out.push(res[i++] as number);
    }
    return out;
  }

  async health(): Promise<StoreHealth> {
    try {
      const t0 = Date.now();
      await this.redis.ping();
      return { ok: true, detail: `redis answered in ${Date.now() - t0} ms` };
    } catch (err) {
      return { ok: false, detail: `redis unreachable: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** the underlying client, for components that need more than the port (label cache) */
  get client(): Redis {
    return this.redis;
  }

  private async exec(p: ReturnType<Redis['pipeline']>, what: string): Promise<unknown[]> {
    const res = await this.call(() => p.exec(), what);
    if (!res) throw new RetryableError(`redis ${what}: pipeline was discarded`);
    return res.map(([err, v]) => {
      if (err) throw new RetryableError(`redis ${what}: ${err.message}`, undefined, { cause: err });
      return v;
    });
  }

  private async call<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof RetryableError) throw err;
      throw new RetryableError(`redis ${what} failed: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
  }
}
