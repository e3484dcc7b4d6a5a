import type { SharedStore, StoreHealth } from '../store.port.js';

// The in-memory stand-in for Redis (embedded default, unit tests). Same contract as the Redis
// store (store.contract.ts). Bounded: expired keys are swept as the map grows, and past
// `maxKeys` the oldest keys go first (a dedupe key lost early costs at most a duplicate).

export class MemoryStore implements SharedStore {
  readonly kind = 'memory';
  private readonly map = new Map<string, number>(); // key → expiry (ms)
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly sets = new Map<string, { set: Set<string>; exp: number }>();
  private readonly hashes = new Map<string, { fields: Map<string, string>; exp: number }>();

  constructor(private readonly maxKeys = 1_000_000) {}

  async claim(keys: readonly string[], ttlMs: number): Promise<boolean[]> {
    const now = Date.now();
    return keys.map((k) => {
      const exp = this.map.get(k);
      if (exp !== undefined && exp > now) return false;
      this.set(k, now + ttlMs);
      return true;
    });
  }

  async release(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.map.delete(k);
  }

  async exists(keys: readonly string[]): Promise<boolean[]> {
    const now = Date.now();
    return keys.map((k) => (this.map.get(k) ?? 0) > now);
  }

  async mark(keys: readonly string[], ttlMs: number): Promise<void> {
    const exp = Date.now() + ttlMs;
    for (const k of keys) this.set(k, exp);
  }

  async takeTokens(
    key: string,
    ratePerSec: number,
    burst: number,
    cost: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSec);
    b.at = now;
    this.buckets.set(key, b);
    // a cost above the burst needs a full bucket and leaves it in debt (store.port.ts)
    const need = Math.min(cost, burst);
    if (b.tokens >= need) {
      b.tokens -= cost;
      return { allowed: true, retryAfterMs: 0 };
    }
    const missing = need - b.tokens;
    return { allowed: false, retryAfterMs: Math.ceil((missing / ratePerSec) * 1000) };
  }

  async hashSet(
    key: string,
    fields: Readonly<Record<string, string>>,
    ttlMs: number,
  ): Promise<void> {
    const now = Date.now();
    let h = this.hashes.get(key);
    if (!h || h.exp <= now) {
      h = { fields: new Map(), exp: 0 };
      this.hashes.set(key, h);
    }
    for (const [f, v] of Object.entries(fields)) h.fields.set(f, v);
    h.exp = now + ttlMs;
    if (this.hashes.size > this.maxKeys) {
      for (const [k, x] of this.hashes) if (x.exp <= now) this.hashes.delete(k);
    }
  }

  async hashGetAll(key: string): Promise<Record<string, string>> {
    const h = this.hashes.get(key);
    if (!h || h.exp <= Date.now()) return {};
    return Object.fromEntries(h.fields);
  }

  async hashDelete(key: string, fields: readonly string[]): Promise<void> {
    const h = this.hashes.get(key);
    if (!h) return;
    for (const f of fields) h.fields.delete(f);
    if (h.fields.size === 0) this.hashes.delete(key);
  }

  async setAdd(
    entries: readonly { key: string; members: readonly string[] }[],
    ttlMs: number,
  ): Promise<void> {
    const exp = Date.now() + ttlMs;
    for (const { key, members } of entries) {
      const set = this.liveSet(key) ?? new Set<string>();
      for (const m of members) set.add(m);
      this.sets.set(key, { set, exp });
    }
  }

  async setHas(
    entries: readonly { key: string; members: readonly string[] }[],
  ): Promise<boolean[][]> {
    return entries.map(({ key, members }) => {
      const set = this.liveSet(key);
      return members.map((m) => set?.has(m) ?? false);
    });
  }

  async setMembers(key: string): Promise<string[]> {
    return [...(this.liveSet(key) ?? [])];
  }

  /** Exact counting stands in for HyperLogLog here (bounded by maxKeys per counter). */
  async countDistinct(
    entries: readonly { key: string; values: readonly string[] }[],
    ttlMs: number,
  ): Promise<number[]> {
    const exp = Date.now() + ttlMs;
    return entries.map(({ key, values }) => {
      const set = this.liveSet(key) ?? new Set<string>();
      for (const v of values) if (set.size < this.maxKeys) set.add(v);
      this.sets.set(key, { set, exp });
      return set.size;
    });
  }

  private liveSet(key: string): Set<string> | undefined {
    const e = this.sets.get(key);
    if (!e) return undefined;
    if (e.exp <= Date.now()) {
      this.sets.delete(key);
      return undefined;
    }
    return e.set;
  }

  async health(): Promise<StoreHealth> {
    return { ok: true, detail: `in-memory store, ${this.map.size} keys` };
  }

  async close(): Promise<void> {}

  private set(key: string, exp: number): void {
    this.map.delete(key); // re-insert so Map order is age order
    this.map.set(key, exp);
    if (this.map.size > this.maxKeys) {
      const now = Date.now();
      for (const [k, e] of this.map) if (e <= now) this.map.delete(k);
      while (this.map.size > this.maxKeys) this.map.delete(this.map.keys().next().value as string);
    }
  }
}
