// What the benchmark reads about a process from /proc (Linux): CPU time of all its threads and
// its resident set. The processes' own accounting, so a busy neighbour on the shared machine
// changes wall-clock figures but not these.
import { readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU time in these ticks (100 on every Linux this project runs on). */
const TICKS_PER_SECOND = 100;

/** user + system CPU milliseconds of every thread of `pid`, alive or exited; NaN when it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count from after it
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Resident set in bytes; NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples the resident set of some processes until stopped; keeps each one's peak. */
export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: ReadonlyMap<string, number>,
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  /** Stops sampling; peak bytes per process name. */
  stop(): Map<string, number> {
    clearInterval(this.timer);
    this.sample();
    return new Map(this.peaks);
  }

  private sample(): void {
    for (const [name, pid] of this.pids) {
      const rss = rssBytes(pid);
      if (!Number.isNaN(rss)) this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, rss));
    }
  }
}

/** CPU milliseconds per named process since `snapshot()` was called. */
export class CpuMeter {
  private readonly start = new Map<string, number>();

  constructor(private readonly pids: ReadonlyMap<string, number>) {
    for (const [name, pid] of pids) this.start.set(name, cpuMs(pid));
  }

  elapsed(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, pid] of this.pids) out.set(name, cpuMs(pid) - (this.start.get(name) ?? 0));
    return out;
  }
}
