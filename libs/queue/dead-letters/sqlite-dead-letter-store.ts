import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { OutgoingMessage } from '../queue.port.js';
import {
  letterBytes,
  matchesLetter,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterSink,
  type DeadLetterStats,
  type EvictedLetter,
} from './dead-letter-sink.js';

// The embedded default's dead-letter queue: a SQLite file in the data dir
// (`deadletters.sqlite`), so dead letters survive restarts and never count against the live
// in-process queue. Bounded by `maxBytes` (EMBER_DEAD_LETTER_BYTES): past it the oldest letters
// are deleted and reported through onEvicted (counted as `dead_letter_evicted` discards).
//
// Two kinds of users open the file: the running Emberflow (append, take marked replays) and
// `npm run replay` (list, mark for replay). WAL mode lets them work side by side; every change
// is one transaction.

export interface SqliteDeadLetterStoreOptions {
  path: string;
  maxBytes: number;
  onEvicted?: (e: EvictedLetter) => void;
}

interface Row {
  id: number;
  topic: string;
  msg_key: string | null;
  value: Buffer;
  headers: string;
  stored_at: number;
}

export interface ReplayMarking {
  scanned: number;
  matched: number;
  byReason: Record<string, number>;
}

export class SqliteDeadLetterStore implements DeadLetterSink {
  private readonly db: Database.Database;
  private bytes: number;
  private count: number;
  private closed = false;
  private readonly insert: Database.Statement;

  constructor(private readonly options: SqliteDeadLetterStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        msg_key TEXT,
        value BLOB NOT NULL,
        headers TEXT NOT NULL,
        reason TEXT NOT NULL,
        tenant TEXT NOT NULL,
        size INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        replay_requested_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS dead_letters_replay ON dead_letters (replay_requested_at, id);
    `);
    const t = this.db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM dead_letters')
      .get() as { n: number; b: number };
    this.count = t.n;
    this.bytes = t.b;
    this.insert = this.db.prepare(
      'INSERT INTO dead_letters (topic, msg_key, value, headers, reason, tenant, size, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  append(topic: string, messages: readonly OutgoingMessage[]): void {
    const now = Date.now();
    const evicted: EvictedLetter[] = [];
    this.db.transaction(() => {
      for (const m of messages) {
        const size = letterBytes(m);
        this.insert.run(
          topic,
          m.key,
          m.value,
          JSON.stringify(m.headers),
          m.headers['ember-dlq-reason'] ?? 'unknown',
          m.headers['ember-tenant'] ?? 'unknown',
          size,
          now,
        );
        this.bytes += size;
        this.count++;
      }
      if (this.bytes > this.options.maxBytes) evicted.push(...this.evict());
    })();
    for (const e of evicted) this.options.onEvicted?.(e);
  }

  /** Deletes the oldest letters until under the budget; inside the caller's transaction. */
  private evict(): EvictedLetter[] {
    const out: EvictedLetter[] = [];
    const oldest = this.db
      .prepare('SELECT id, topic, reason, tenant, size FROM dead_letters ORDER BY id LIMIT 10000')
      .all() as Iterable<{
      id: number;
      topic: string;
      reason: string;
      tenant: string;
      size: number;
    }>;
    const ids: number[] = [];
    for (const r of oldest) {
      if (this.bytes <= this.options.maxBytes) break;
      ids.push(r.id);
      this.bytes -= r.size;
      this.count--;
      out.push({ topic: r.topic, tenant: r.tenant, reason: r.reason, bytes: r.size });
    }
    const del = this.db.prepare('DELETE FROM dead_letters WHERE id = ?');
    for (const id of ids) del.run(id);
    return out;
  }

  pendingReplays(limit: number): DeadLetterRecord[] {
    const rows = this.db
      .prepare(
        'SELECT id, topic, msg_key, value, headers, stored_at FROM dead_letters WHERE replay_requested_at IS NOT NULL ORDER BY id LIMIT ?',
      )
      .all(limit) as Row[];
    return rows.map(toRecord);
  }

  remove(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const sizeOf = this.db.prepare('SELECT size FROM dead_letters WHERE id = ?');
    const del = this.db.prepare('DELETE FROM dead_letters WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) {
        const r = sizeOf.get(id) as { size: number } | undefined;
        if (!r) continue;
        del.run(id);
        this.bytes -= r.size;
        this.count--;
      }
    })();
  }

  /**
   * Marks the letters matching the filter for replay (oldest first, at most `limit`, 0 = all);
   * with dryRun only counts them. The running Emberflow republishes marked letters.
   */
  markForReplay(filter: DeadLetterFilter, limit: number, dryRun: boolean): ReplayMarking {
    const result: ReplayMarking = { scanned: 0, matched: 0, byReason: {} };
    // metadata only: a full DLQ can be far larger than memory should hold
    const rows = this.db
      .prepare('SELECT id, topic, headers FROM dead_letters ORDER BY id')
      .all() as { id: number; topic: string; headers: string }[];
    const ids: number[] = [];
    for (const r of rows) {
      result.scanned++;
      const l = { topic: r.topic, headers: JSON.parse(r.headers) as Record<string, string> };
      if (!matchesLetter(l, filter)) continue;
      if (limit > 0 && result.matched >= limit) continue;
      result.matched++;
      ids.push(r.id);
      const reason = l.headers['ember-dlq-reason'] ?? 'unknown';
      result.byReason[reason] = (result.byReason[reason] ?? 0) + 1;
    }
    if (!dryRun) {
      const mark = this.db.prepare('UPDATE dead_letters SET replay_requested_at = ? WHERE id = ?');
      const now = Date.now();
      this.db.transaction(() => ids.forEach((id) => mark.run(now, id)))();
    }
    return result;
  }

  /** Every letter matching the filter, oldest first, bodies included (tests, small stores). */
  list(filter: DeadLetterFilter): DeadLetterRecord[] {
    const rows = this.db
      .prepare('SELECT id, topic, msg_key, value, headers, stored_at FROM dead_letters ORDER BY id')
      .all() as Row[];
    return rows.map(toRecord).filter((l) => matchesLetter(l, filter));
  }

  stats(): DeadLetterStats {
    return { count: this.count, bytes: this.bytes };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

function toRecord(r: Row): DeadLetterRecord {
  return {
    id: r.id,
    topic: r.topic,
    key: r.msg_key,
    value: r.value,
    headers: JSON.parse(r.headers) as Record<string, string>,
    storedAt: r.stored_at,
  };
}
