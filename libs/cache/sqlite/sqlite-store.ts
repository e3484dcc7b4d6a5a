import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MemoryStore } from '../memory/memory-store.js';
import type { SharedStore, StoreHealth } from '../store.port.js';

// The embedded default's shared state (no EMBER_REDIS_URL): what users rely on across a restart
// lives in a SQLite file in the data dir (`state.sqlite`):
// - keys with an expiry (claim, release, exists, mark): upload dedupe claims and delivered
//   series ids, so an agent's retry of an upload stored before a restart is still a duplicate;
// - hashes (the fleet view), so the agents are still listed after a restart.
// What only steers traffic and rebuilds itself from it stays in memory, as in the in-memory
// store: rate-limit buckets (they refill), label-name sets and cardinality counters (relearnt
// from the next uploads).
//
// One process writes the file (the all-in-one process); WAL mode keeps reads cheap. Bounded:
// expired rows are swept every minute, and past `maxKeys` the soonest-expiring keys go first
// (a dedupe key lost early costs at most a duplicate).

export interface SqliteStoreOptions {
  path: string;
  maxKeys?: number;
  sweepIntervalMs?: number;
}

export class SqliteStore implements SharedStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly volatile: MemoryStore;
  private readonly maxKeys: number;
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;
  private readonly stmt: {
    claim: Database.Statement;
    get: Database.Statement;
    del: Database.Statement;
    upsert: Database.Statement;
    hashSet: Database.Statement;
    hashTouch: Database.Statement;
    hashAll: Database.Statement;
    hashDel: Database.Statement;
    hashExp: Database.Statement;
    hashClear: Database.Statement;
    count: Database.Statement;
  };

  constructor(private readonly options: SqliteStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.maxKeys = options.maxKeys ?? 1_000_000;
    this.volatile = new MemoryStore(this.maxKeys);
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS keys (k TEXT PRIMARY KEY, exp INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS keys_by_exp ON keys (exp);
      CREATE TABLE IF NOT EXISTS hashes (
        k TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (k, field)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS hash_expiry (k TEXT PRIMARY KEY, exp INTEGER NOT NULL) WITHOUT ROWID;
    `);
    this.stmt = {
      // inserts, or takes over an expired key; changes = 1 when this call is first
      claim: this.db.prepare(
        'INSERT INTO keys (k, exp) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET exp = excluded.exp WHERE keys.exp <= ?',
      ),
      get: this.db.prepare('SELECT exp FROM keys WHERE k = ?').pluck(),
      del: this.db.prepare('DELETE FROM keys WHERE k = ?'),
      upsert: this.db.prepare(
        'INSERT INTO keys (k, exp) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET exp = excluded.exp',
      ),
      hashSet: this.db.prepare(
        'INSERT INTO hashes (k, field, value) VALUES (?, ?, ?) ON CONFLICT (k, field) DO UPDATE SET value = excluded.value',
      ),
      hashTouch: this.db.prepare(
        'INSERT INTO hash_expiry (k, exp) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET exp = excluded.exp',
      ),
      hashAll: this.db.prepare(
        'SELECT h.field, h.value FROM hashes h JOIN hash_expiry e ON e.k = h.k WHERE h.k = ? AND e.exp > ?',
      ),
      hashDel: this.db.prepare('DELETE FROM hashes WHERE k = ? AND field = ?'),
      hashExp: this.db.prepare('SELECT exp FROM hash_expiry WHERE k = ?').pluck(),
      hashClear: this.db.prepare('DELETE FROM hashes WHERE k = ?'),
      count: this.db.prepare('SELECT COUNT(*) FROM keys').pluck(),
    };
    this.sweep();
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweepTimer.unref();
  }

  async claim(keys: readonly string[], ttlMs: number): Promise<boolean[]> {
    const now = Date.now();
    return this.db.transaction(() =>
      keys.map((k) => this.stmt.claim.run(k, now + ttlMs, now).changes === 1),
    )();
  }

  async release(keys: readonly string[]): Promise<void> {
    this.db.transaction(() => keys.forEach((k) => this.stmt.del.run(k)))();
  }

  async exists(keys: readonly string[]): Promise<boolean[]> {
    const now = Date.now();
    return keys.map((k) => ((this.stmt.get.get(k) as number | undefined) ?? 0) > now);
  }

  async mark(keys: readonly string[], ttlMs: number): Promise<void> {
    const exp = Date.now() + ttlMs;
    this.db.transaction(() => keys.forEach((k) => this.stmt.upsert.run(k, exp)))();
  }

  takeTokens(
    key: string,
    ratePerSec: number,
    burst: number,
    cost: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    return this.volatile.takeTokens(key, ratePerSec, burst, cost);
  }

  async hashSet(
    key: string,
    fields: Readonly<Record<string, string>>,
    ttlMs: number,
  ): Promise<void> {
    const now = Date.now();
    this.db.transaction(() => {
      // an expired hash is gone, as in Redis: its old fields do not come back with a new write
      const exp = this.stmt.hashExp.get(key) as number | undefined;
      if (exp !== undefined && exp <= now) this.stmt.hashClear.run(key);
      for (const [f, v] of Object.entries(fields)) this.stmt.hashSet.run(key, f, v);
      this.stmt.hashTouch.run(key, now + ttlMs);
    })();
  }

  async hashGetAll(key: string): Promise<Record<string, string>> {
    const rows = this.stmt.hashAll.all(key, Date.now()) as { field: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.field, r.value]));
  }

  async hashDelete(key: string, fields: readonly string[]): Promise<void> {
    this.db.transaction(() => fields.forEach((f) => this.stmt.hashDel.run(key, f)))();
  }

  setAdd(
    entries: readonly { key: string; members: readonly string[] }[],
    ttlMs: number,
  ): Promise<void> {
    return this.volatile.setAdd(entries, ttlMs);
  }

  setHas(entries: readonly { key: string; members: readonly string[] }[]): Promise<boolean[][]> {
    return this.volatile.setHas(entries);
  }

  setMembers(key: string): Promise<string[]> {
    return this.volatile.setMembers(key);
  }

  countDistinct(
    entries: readonly { key: string; values: readonly string[] }[],
    ttlMs: number,
  ): Promise<number[]> {
    return this.volatile.countDistinct(entries, ttlMs);
  }

  /** Drops expired keys and hashes; past maxKeys, the soonest-expiring keys. */
  private sweep(): void {
    if (this.closed) return;
    const now = Date.now();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM keys WHERE exp <= ?').run(now);
      const gone = this.db.prepare('SELECT k FROM hash_expiry WHERE exp <= ?').pluck().all(now);
      for (const k of gone) {
        this.db.prepare('DELETE FROM hashes WHERE k = ?').run(k);
        this.db.prepare('DELETE FROM hash_expiry WHERE k = ?').run(k);
      }
      const n = this.stmt.count.get() as number;
      if (n > this.maxKeys) {
        this.db
          .prepare('DELETE FROM keys WHERE k IN (SELECT k FROM keys ORDER BY exp LIMIT ?)')
          .run(n - this.maxKeys);
      }
    })();
  }

  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, detail: 'state store closed' };
    return {
      ok: true,
      detail: `state in ${this.options.path}: ${this.stmt.count.get() as number} keys`,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.volatile.close();
    this.db.close();
  }
}
