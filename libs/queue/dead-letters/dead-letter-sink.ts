import type { OutgoingMessage } from '../queue.port.js';

// Where the in-process queue keeps dead letters: apart from the live queue's byte budget, so
// however many uploads die, live traffic is never refused for them. Bounded: past its byte
// budget the oldest letters are dropped and counted (onEvicted). Replay (`npm run replay`)
// marks letters; the running queue takes the marked ones back to their source topic.

export interface DeadLetterRecord {
  id: number;
  topic: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  storedAt: number;
}

export interface DeadLetterFilter {
  topic?: string;
  reason?: string;
  tenant?: string;
}

export interface DeadLetterStats {
  count: number;
  bytes: number;
}

export interface DeadLetterSink {
  /** stores the letters (a whole call or nothing), evicting the oldest past the budget */
  append(topic: string, messages: readonly OutgoingMessage[]): void;
  /** letters marked for replay, oldest first */
  pendingReplays(limit: number): DeadLetterRecord[];
  /** forgets letters (replayed ones) */
  remove(ids: readonly number[]): void;
  stats(): DeadLetterStats;
  /** safe twice */
  close(): void;
}

/** An evicted letter, for the discard counter: whose it was and why it had died. */
export interface EvictedLetter {
  topic: string;
  tenant: string;
  reason: string;
  bytes: number;
}

/** Size of a letter as the budget counts it: value, key and headers. */
export function letterBytes(m: Pick<OutgoingMessage, 'key' | 'value' | 'headers'>): number {
  let n = m.value.length + (m.key?.length ?? 0);
  for (const [k, v] of Object.entries(m.headers)) n += k.length + v.length;
  return n;
}

/**
 * The unit tests' and the default in-memory sink: the same bound and eviction rule as the
 * SQLite store, not durable. The embedded default uses SqliteDeadLetterStore.
 */
export class MemoryDeadLetterSink implements DeadLetterSink {
  private readonly letters: (DeadLetterRecord & { bytes: number; replay: boolean })[] = [];
  private bytes = 0;
  private nextId = 1;

  constructor(
    private readonly maxBytes: number,
    private readonly onEvicted: (e: EvictedLetter) => void = () => {},
  ) {}

  append(topic: string, messages: readonly OutgoingMessage[]): void {
    const now = Date.now();
    for (const m of messages) {
      const bytes = letterBytes(m);
      this.letters.push({
        id: this.nextId++,
        topic,
        key: m.key,
        value: m.value,
        headers: { ...m.headers },
        storedAt: now,
        bytes,
        replay: false,
      });
      this.bytes += bytes;
    }
    while (this.bytes > this.maxBytes && this.letters.length > 0) {
      const old = this.letters.shift()!;
      this.bytes -= old.bytes;
      this.onEvicted({
        topic: old.topic,
        tenant: old.headers['ember-tenant'] ?? 'unknown',
        reason: old.headers['ember-dlq-reason'] ?? 'unknown',
        bytes: old.bytes,
      });
    }
  }

  /** marks letters for replay (what `npm run replay` does to the SQLite store) */
  markForReplay(filter: DeadLetterFilter = {}): number {
    let n = 0;
    for (const l of this.letters) {
      if (matchesLetter(l, filter)) {
        l.replay = true;
        n++;
      }
    }
    return n;
  }

  pendingReplays(limit: number): DeadLetterRecord[] {
    return this.letters.filter((l) => l.replay).slice(0, limit);
  }

  remove(ids: readonly number[]): void {
    const drop = new Set(ids);
    for (let i = this.letters.length - 1; i >= 0; i--) {
      if (drop.has(this.letters[i].id)) {
        this.bytes -= this.letters[i].bytes;
        this.letters.splice(i, 1);
      }
    }
  }

  stats(): DeadLetterStats {
    return { count: this.letters.length, bytes: this.bytes };
  }

  /** every letter held, oldest first (tests) */
  all(): DeadLetterRecord[] {
    return this.letters.map((l) => ({ ...l }));
  }

  close(): void {}
}

export function matchesLetter(
  l: Pick<DeadLetterRecord, 'topic' | 'headers'>,
  f: DeadLetterFilter,
): boolean {
  if (f.topic && l.topic !== f.topic) return false;
  if (f.reason && l.headers['ember-dlq-reason'] !== f.reason) return false;
  if (f.tenant && l.headers['ember-tenant'] !== f.tenant) return false;
  return true;
}
