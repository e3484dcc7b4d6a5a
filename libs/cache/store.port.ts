// The shared-state port: short-lived keys that every replica sees (Redis in production, an
// in-memory map in the embedded default). Nothing here is the only copy of profile data: losing
// it costs at most a duplicate or a re-count, never an upload.

export interface StoreHealth {
  ok: boolean;
  detail: string;
}

export interface SharedStore {
  /** 'redis' | 'memory' */
  readonly kind: string;
  /**
   * Sets each key only if absent, with an expiry (Redis SET NX PX, pipelined). Returns, per key,
   * true when this call created it (the caller is first) and false when it existed.
   */
  claim(keys: readonly string[], ttlMs: number): Promise<boolean[]>;
  /** Deletes keys; used to undo a claim when the work it guarded failed. Missing keys are fine. */
  release(keys: readonly string[]): Promise<void>;
  /** Per key, whether it exists. */
  exists(keys: readonly string[]): Promise<boolean[]>;
  /** Sets keys unconditionally, with an expiry. */
  mark(keys: readonly string[], ttlMs: number): Promise<void>;
  /**
   * Token bucket shared by all replicas: refills `ratePerSec` tokens a second up to `burst`,
   * takes `cost` when at least min(cost, burst) tokens are there. A cost above the burst is
   * charged in full from a full bucket, which goes into debt: later takes wait until the debt
   * is paid off, so the long-run rate holds whatever the sizes. Returns whether it was taken,
   * and if not, how long until it would be.
   */
  takeTokens(
    key: string,
    ratePerSec: number,
    burst: number,
    cost: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }>;
  /**
   * Sets fields of a hash (Redis HSET; values are opaque strings, typically JSON) and refreshes
   * the whole hash's expiry, in one round trip. Other fields are left as they are, so writers
   * that own distinct fields never race.
   */
  hashSet(key: string, fields: Readonly<Record<string, string>>, ttlMs: number): Promise<void>;
  /** Every field of a hash; {} when the hash does not exist (or expired). */
  hashGetAll(key: string): Promise<Record<string, string>>;
  /** Removes fields from a hash; missing fields and hashes are fine. */
  hashDelete(key: string, fields: readonly string[]): Promise<void>;
  /**
   * Adds members to sets (Redis SADD) and refreshes each set's expiry; one round trip for all.
   */
  setAdd(
    entries: readonly { key: string; members: readonly string[] }[],
    ttlMs: number,
  ): Promise<void>;
  /** Per entry, per member: whether the member is in the set (Redis SMISMEMBER), one round trip. */
  setHas(entries: readonly { key: string; members: readonly string[] }[]): Promise<boolean[][]>;
  /** Members of a set (Redis SMEMBERS); [] when absent. Meant for small sets (label names). */
  setMembers(key: string): Promise<string[]>;
  /**
   * Adds values to HyperLogLog counters and returns each counter's estimated cardinality
   * afterwards (Redis PFADD + PFCOUNT), one round trip for all.
   */
  countDistinct(
    entries: readonly { key: string; values: readonly string[] }[],
    ttlMs: number,
  ): Promise<number[]>;
  health(): Promise<StoreHealth>;
  /** Safe to call twice. */
  close(): Promise<void>;
}

export const SHARED_STORE = Symbol('SHARED_STORE');

/** Versioned key names; the tenant sits in a hash tag so one tenant's keys share a cluster slot. */
export const keys = {
  upload: (tenant: string, digest: string): string => `ember:v1:{${tenant}}:upload:${digest}`,
  delivered: (backend: string, tenant: string, seriesId: string): string =>
    `ember:v1:{${tenant}}:delivered:${backend}:${seriesId}`,
  rate: (tenant: string): string => `ember:v1:{${tenant}}:rate`,
  /** label names seen for a tenant's service */
  labelNames: (tenant: string, service: string): string => `ember:v1:{${tenant}}:labels:${service}`,
  /** values seen for a tenant's label (bounded by the cardinality cap) */
  labelValues: (tenant: string, name: string): string => `ember:v1:{${tenant}}:values:${name}`,
  /** HyperLogLog of a tenant's label's values */
  labelCardinality: (tenant: string, name: string): string => `ember:v1:{${tenant}}:card:${name}`,
  /** the fleet view of a tenant: one hash, fields per service, instance and facet */
  fleet: (tenant: string): string => `ember:v1:{${tenant}}:fleet`,
};
