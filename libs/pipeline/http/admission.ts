// Admission control at the HTTP edge: decides, from the headers alone and before a byte of the
// body is read, whether a request may be received now. The process holds at most
// `maxInflightBytes` of request bodies (declared Content-Length, or what a chunked body has
// delivered so far) and `maxConcurrent` requests at once; when the downstream it feeds is full
// (the in-process queue of the one-process topology) or the event loop is overloaded, nothing
// new is admitted either. Memory is then bounded by the budget, not by the number of senders.
// Nor is a profile upload admitted while the pipeline behind ingest is more than
// `maxBacklogMs` behind (pipeline-backlog.ts): with Kafka between the stages ingest could
// otherwise accept far more than is decoded and stored, and what it accepts would be queryable
// only minutes later. OTLP requests feed their own topics and are not held by it.
//
// A request that does not fit waits, without its body being read, up to `maxWaitMs` (a profile
// upload held only by the pipeline's backlog up to `maxBacklogWaitMs`) in a bounded waiting
// room; room is handed out to the tenant holding the least, so one busy tenant cannot starve the
// others. Past the wait (or with the room full) it is shed:
//   - 429 when several tenants compete and this one holds at least its fair share of the budget
//     (budget / active tenants): the tenant is asked to slow down;
//   - 503 otherwise: the process is full (or its downstream, or its event loop).
// Both carry Retry-After, estimated from how fast admitted bytes have been draining, with
// jitter so shed senders do not come back in step.
//
// Contract: every Ticket handed out must be released exactly once (release is idempotent);
// AdmissionControl never throws; it keeps no per-request state beyond tickets and waiters.

export type ShedReason =
  | 'process_full'
  | 'tenant_over_share'
  | 'downstream_full'
  | 'event_loop_overloaded'
  | 'pipeline_behind'
  | 'waiting_room_full';

export interface Shed {
  ok: false;
  status: 429 | 503;
  reason: ShedReason;
  message: string;
  retryAfterSeconds: number;
}

export interface AdmissionLimits {
  /** bytes of request bodies held at once; a larger single request is admitted only alone */
  maxInflightBytes: number;
  /** requests being received or handled at once */
  maxConcurrent: number;
  /** how long a request may wait for room before it is shed; 0 = shed at once */
  maxWaitMs: number;
  /** requests waiting at once; further ones are shed at once */
  maxWaiting: number;
  /** profile uploads wait while the pipeline is more than this far behind (ms); 0 = never */
  maxBacklogMs?: number;
  /**
   * How long a profile upload held only by the pipeline's backlog may wait in all (ms), when
   * longer than `maxWaitMs`: a burst is absorbed as the decoder drains it instead of being shed
   * after a second. Keep it well under the agents' own timeouts (10 s for Go and Java).
   */
  maxBacklogWaitMs?: number;
}

/** Which work a request feeds: only profile uploads are held while the pipeline is behind. */
export type AdmissionLane = 'profiles' | 'otlp';

export interface AdmissionProbes {
  /** free bytes downstream (the in-process queue); undefined = unbounded (Kafka) */
  downstreamRoom?: () => number;
  /** true while the event loop lags past its threshold */
  overloaded?: () => boolean;
  /** seconds of accepted uploads waiting to be decoded and stored (pipeline-backlog.ts) */
  backlogSeconds?: () => number;
  /** told of every profile upload admitted, so the backlog counts it before the next reading */
  admittedProfile?: () => void;
  /** ms clock (tests) */
  now?: () => number;
  /** [0, 1) (tests) */
  random?: () => number;
}

type Blocker = 'process_full' | 'downstream_full' | 'event_loop_overloaded' | 'pipeline_behind';

interface Holding {
  bytes: number;
  requests: number;
}

interface Waiter {
  tenant: string;
  bytes: number;
  lane: AdmissionLane;
  since: number;
  resolve(v: Ticket | Shed): void;
  timer?: NodeJS.Timeout;
}

export class Ticket {
  readonly ok = true;
  private released = false;

  constructor(
    private readonly owner: AdmissionControl,
    readonly tenant: string,
    private held: number,
  ) {}

  /** bytes this ticket holds of the budget */
  get bytes(): number {
    return this.held;
  }

  /**
   * Reserves `more` bytes for a body that turned out larger than reserved (chunked transfer).
   * Returns false, reserving nothing, when the budget cannot take them. `declared`: the size is
   * the request's own declaration (a gRPC message's length), not a guess, so it gets the rule of
   * a declared Content-Length: a request larger than the whole budget is let in when alone.
   */
  grow(more: number, declared = false): boolean {
    if (this.released || more <= 0) return !this.released;
    if (!this.owner.take(this.tenant, more, false, declared)) return false;
    this.held += more;
    return true;
  }

  /** Gives the bytes and the request slot back; safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner.give(this.tenant, this.held);
  }
}

const EWMA_WEIGHT = 0.2;

export class AdmissionControl {
  private bytes = 0;
  private requests = 0;
  private readonly tenants = new Map<string, Holding>();
  private readonly waiting: Waiter[] = [];
  private poll: NodeJS.Timeout | undefined;
  /** bytes released per second, smoothed; the drain rate Retry-After is estimated from */
  private drainRate = 0;
  private drainWindowStart: number;
  private drainWindowBytes = 0;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly limits: AdmissionLimits,
    private readonly probes: AdmissionProbes = {},
  ) {
    this.now = probes.now ?? Date.now;
    this.random = probes.random ?? Math.random;
    this.drainWindowStart = this.now();
  }

  /** Admits at once, or says why not (no waiting). */
  tryAcquire(tenant: string, bytes: number, lane: AdmissionLane = 'profiles'): Ticket | Shed {
    if (this.waiting.length === 0 && this.fits(bytes, lane)) return this.admit(tenant, bytes, lane);
    return this.shed(tenant, bytes, this.blocker(bytes, lane) ?? 'process_full');
  }

  /**
   * Admits now, or after waiting for room (at most limits.maxWaitMs; `signal` abandons the
   * wait when the client goes away), or sheds. Resolves, never rejects.
   */
  acquire(
    tenant: string,
    bytes: number,
    signal?: AbortSignal,
    lane: AdmissionLane = 'profiles',
  ): Promise<Ticket | Shed> {
    if (this.waiting.length === 0 && this.fits(bytes, lane))
      return Promise.resolve(this.admit(tenant, bytes, lane));
    if (this.limits.maxWaitMs <= 0 || this.waiting.length >= this.limits.maxWaiting) {
      const reason = this.limits.maxWaitMs <= 0 ? this.blocker(bytes, lane) : 'waiting_room_full';
      return Promise.resolve(this.shed(tenant, bytes, reason ?? 'process_full'));
    }
    return new Promise((resolve) => {
      const w: Waiter = { tenant, bytes, lane, since: this.now(), resolve };
      const leave = (v: Ticket | Shed): void => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        clearTimeout(w.timer);
        signal?.removeEventListener('abort', onAbort);
        this.schedulePoll();
        resolve(v);
      };
      const timedOut = (): void => {
        const blocker = this.blocker(bytes, lane);
        const longer = (this.limits.maxBacklogWaitMs ?? 0) - (this.now() - w.since);
        if (blocker === 'pipeline_behind' && longer > 0) {
          w.timer = setTimeout(timedOut, longer);
          return;
        }
        leave(
          blocker === null ? this.admit(tenant, bytes, lane) : this.shed(tenant, bytes, blocker),
        );
      };
      // the client went away: nobody would release a ticket handed out now
      const onAbort = (): void => leave(this.shed(tenant, bytes, 'process_full'));
      w.resolve = leave;
      w.timer = setTimeout(timedOut, this.limits.maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
      this.schedulePoll();
    });
  }

  stats(): { bytes: number; requests: number; waiting: number; tenants: number } {
    return {
      bytes: this.bytes,
      requests: this.requests,
      waiting: this.waiting.length,
      tenants: this.tenants.size,
    };
  }

  /** Stops the poll timer and sheds every waiter (shutdown). */
  close(): void {
    clearInterval(this.poll);
    this.poll = undefined;
    for (const w of [...this.waiting]) w.resolve(this.shed(w.tenant, w.bytes, 'process_full'));
  }

  /** @internal Ticket.grow: takes bytes for an admitted request (no new request slot). */
  take(tenant: string, bytes: number, newRequest: boolean, aloneMayExceed = false): boolean {
    const alone = aloneMayExceed && this.requests === 1;
    if (!newRequest && !alone && this.bytes + bytes > this.limits.maxInflightBytes) return false;
    this.bytes += bytes;
    const h = this.tenants.get(tenant) ?? { bytes: 0, requests: 0 };
    h.bytes += bytes;
    if (newRequest) {
      this.requests++;
      h.requests++;
    }
    this.tenants.set(tenant, h);
    return true;
  }

  /** @internal Ticket.release */
  give(tenant: string, bytes: number): void {
    this.bytes -= bytes;
    this.requests--;
    const h = this.tenants.get(tenant);
    if (h) {
      h.bytes -= bytes;
      h.requests--;
      if (h.requests <= 0) this.tenants.delete(tenant);
    }
    this.noteDrained(bytes);
    this.wake();
  }

  private admit(tenant: string, bytes: number, lane: AdmissionLane): Ticket {
    this.take(tenant, bytes, true);
    if (lane === 'profiles') this.probes.admittedProfile?.();
    return new Ticket(this, tenant, bytes);
  }

  private fits(bytes: number, lane: AdmissionLane): boolean {
    return this.blocker(bytes, lane) === null;
  }

  /** What keeps a request of `bytes` out right now; null when it fits. */
  private blocker(bytes: number, lane: AdmissionLane): Blocker | null {
    if (this.requests >= this.limits.maxConcurrent) return 'process_full';
    // a request larger than the whole budget gets in when it is alone
    if (this.bytes > 0 && this.bytes + bytes > this.limits.maxInflightBytes) return 'process_full';
    const room = this.probes.downstreamRoom?.();
    if (room !== undefined && room < this.bytes + bytes) return 'downstream_full';
    if (this.probes.overloaded?.()) return 'event_loop_overloaded';
    if (lane === 'profiles' && this.backlogOver() > 0) return 'pipeline_behind';
    return null;
  }

  /** seconds the pipeline is behind past maxBacklogMs; 0 when within it (or not limited) */
  private backlogOver(): number {
    const limit = this.limits.maxBacklogMs ?? 0;
    if (limit <= 0 || !this.probes.backlogSeconds) return 0;
    return Math.max(0, this.probes.backlogSeconds() - limit / 1000);
  }

  /** Hands freed room to waiters, the tenant holding least first (then the oldest). */
  private wake(): void {
    while (this.waiting.length > 0) {
      let best: Waiter | undefined;
      let bestHeld = Infinity;
      for (const w of this.waiting) {
        if (!this.fits(w.bytes, w.lane)) continue;
        const held = this.tenants.get(w.tenant)?.bytes ?? 0;
        if (held < bestHeld || (held === bestHeld && best && w.since < best.since)) {
          best = w;
          bestHeld = held;
        }
      }
      if (!best) return;
      best.resolve(this.admit(best.tenant, best.bytes, best.lane));
    }
  }

  /** Downstream room and event-loop health change without a release: re-check while waiting. */
  private schedulePoll(): void {
    if (this.waiting.length > 0 && !this.poll) {
      this.poll = setInterval(() => this.wake(), 50);
      this.poll.unref();
    } else if (this.waiting.length === 0 && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  private noteDrained(bytes: number): void {
    this.drainWindowBytes += bytes;
    const elapsed = this.now() - this.drainWindowStart;
    if (elapsed >= 1000) {
      const rate = (this.drainWindowBytes * 1000) / elapsed;
      this.drainRate =
        this.drainRate === 0 ? rate : this.drainRate * (1 - EWMA_WEIGHT) + rate * EWMA_WEIGHT;
      this.drainWindowStart = this.now();
      this.drainWindowBytes = 0;
    }
  }

  private shed(tenant: string, bytes: number, reason: Blocker | 'waiting_room_full'): Shed {
    // how long until what is ahead of this request has drained, 1-30 s, plus up to 50 % jitter
    const ahead = this.bytes + this.waiting.reduce((n, w) => n + w.bytes, 0) + bytes;
    // behind a backlog, the time until the pipeline is back within its limit
    const over = reason === 'pipeline_behind' ? Math.ceil(this.backlogOver()) : 0;
    const base = Math.min(
      30,
      Math.max(1, over, this.drainRate > 0 ? Math.ceil(ahead / this.drainRate) : 1),
    );
    const retryAfterSeconds = base + Math.floor(this.random() * (base / 2 + 1));
    const active = new Set([...this.tenants.keys(), tenant]).size;
    const fair = this.limits.maxInflightBytes / active;
    const held = this.tenants.get(tenant)?.bytes ?? 0;
    if (active > 1 && held + bytes > fair && held > 0) {
      return {
        ok: false,
        status: 429,
        reason: 'tenant_over_share',
        retryAfterSeconds,
        message: `tenant ${tenant} holds ${held} bytes of uploads in flight, more than its share (${Math.floor(fair)} bytes: the in-flight budget of ${this.limits.maxInflightBytes} bytes over ${active} active tenants); retry after ${retryAfterSeconds}s`,
      };
    }
    const why: Record<typeof reason, string> = {
      process_full: `the ingest budget is in use (${this.bytes} of ${this.limits.maxInflightBytes} bytes, ${this.requests} of ${this.limits.maxConcurrent} uploads in flight; EMBER_INGEST_INFLIGHT_BYTES, EMBER_INGEST_MAX_CONCURRENT)`,
      downstream_full: `the in-process queue is full (EMBER_MEMORY_QUEUE_BYTES): the decoder is behind`,
      event_loop_overloaded: `the process is overloaded (event loop delay past EMBER_INGEST_MAX_EVENT_LOOP_DELAY)`,
      pipeline_behind: `the pipeline is behind: about ${(this.probes.backlogSeconds?.() ?? 0).toFixed(1)}s of accepted uploads wait to be decoded and stored, more than EMBER_INGEST_MAX_BACKLOG (${((this.limits.maxBacklogMs ?? 0) / 1000).toFixed(1)}s)`,
      waiting_room_full: `too many uploads are already waiting for room (${this.waiting.length})`,
    };
    return {
      ok: false,
      status: 503,
      reason,
      retryAfterSeconds,
      message: `upload not accepted now: ${why[reason]}; retry after ${retryAfterSeconds}s`,
    };
  }
}
