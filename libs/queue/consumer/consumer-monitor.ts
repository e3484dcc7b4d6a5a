import type { PartitionStatus } from '../queue.port.js';

// What every consumed partition of this process is doing, for /readyz and /metrics: its lag,
// when it last committed, whether the work in hand is failing, and whether it is stalled (lag
// and no commit for longer than `stallAfterMs`). Brokers report events; readers take
// snapshots. Only partitions this process owns are listed: a stalled partition is reported by
// the replica that holds it.

interface PartitionState {
  group: string;
  topic: string;
  partition: number;
  lag: number | null;
  lastCommitAt: number | null;
  assignedAt: number;
  attempts: number;
  lastError: string | null;
}

export class ConsumerMonitor {
  private readonly states = new Map<string, PartitionState>();

  constructor(
    private readonly stallAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** This process now owns these partitions (others of the group/topic it no longer does). */
  assigned(group: string, topic: string, partitions: readonly number[]): void {
    const keep = new Set(partitions.map((p) => key(group, topic, p)));
    for (const [k, s] of this.states) {
      if (s.group === group && s.topic === topic && !keep.has(k)) this.states.delete(k);
    }
    for (const p of partitions) this.state(group, topic, p);
  }

  /** The subscription ended: its partitions are no longer this process's. */
  released(group: string, topic: string): void {
    this.assigned(group, topic, []);
  }

  committed(group: string, topic: string, partition: number, lagAfter?: number): void {
    const s = this.state(group, topic, partition);
    s.lastCommitAt = this.now();
    s.attempts = 0;
    s.lastError = null;
    if (lagAfter !== undefined) s.lag = Math.max(0, lagAfter);
  }

  lag(group: string, topic: string, partition: number, lag: number): void {
    const s = this.states.get(key(group, topic, partition));
    if (s) s.lag = Math.max(0, lag);
  }

  failed(group: string, topic: string, partition: number, error: string): void {
    const s = this.state(group, topic, partition);
    s.attempts++;
    s.lastError = error.slice(0, 512);
  }

  snapshot(): PartitionStatus[] {
    const now = this.now();
    return [...this.states.values()]
      .map((s) => {
        const since = Math.max(s.lastCommitAt ?? 0, s.assignedAt);
        return {
          group: s.group,
          topic: s.topic,
          partition: s.partition,
          lag: s.lag,
          lastCommitAt: s.lastCommitAt,
          assignedAt: s.assignedAt,
          attempts: s.attempts,
          lastError: s.lastError,
          stalled: (s.lag ?? 0) > 0 && now - since > this.stallAfterMs,
        };
      })
      .sort((a, b) =>
        a.group === b.group
          ? a.topic === b.topic
            ? a.partition - b.partition
            : a.topic < b.topic
              ? -1
              : 1
          : a.group < b.group
            ? -1
            : 1,
      );
  }

  private state(group: string, topic: string, partition: number): PartitionState {
    const k = key(group, topic, partition);
    let s = this.states.get(k);
    if (!s) {
      s = {
        group,
        topic,
        partition,
        lag: null,
        lastCommitAt: null,
        assignedAt: this.now(),
        attempts: 0,
        lastError: null,
      };
      this.states.set(k, s);
    }
    return s;
  }
}

function key(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}

/** One line per stalled partition, for /readyz: which partition, since when, and why. */
export function describeStalls(statuses: readonly PartitionStatus[], now = Date.now()): string[] {
  return statuses
    .filter((s) => s.stalled)
    .map((s) => {
      const since = Math.max(s.lastCommitAt ?? 0, s.assignedAt);
      const why = s.lastError
        ? `${s.attempts} failed attempts, last: ${s.lastError}`
        : 'no error reported (slow work in hand)';
      return `${s.topic}[${s.partition}] (group ${s.group}) stalled: lag ${s.lag}, no commit for ${Math.round((now - since) / 1000)} s; ${why}`;
    });
}
