// How many seconds of work wait for one consumer group on one topic, from successive readings of
// its backlog (lag, and how many messages it has consumed so far). Pure: the caller reads the
// broker and feeds observe(); nothing here does I/O or keeps a timer.
//
// The drain rate is measured only over the intervals in which the group had work (lag at the
// start of the interval, or something consumed during it): an idle consumer drains at the rate
// uploads arrive, not at what it can do, and counting its idle time would make the first burst
// after a quiet spell look like many seconds of backlog. Over a window of WINDOW_MS, so that a
// consumer that commits in large batches (a few 1.5 MB uploads per commit) still shows a rate.
//
// seconds() is null when it cannot be told: no reading yet, or a group behind that consumed
// nothing during the whole window (stopped, restarting, or stuck on a message). Such a backlog is
// what a durable queue is for; admission does not shed on it (the consumer's own /readyz and
// emberflow_consumer_stalled report it).

export const WINDOW_MS = 10_000;

interface Reading {
  at: number;
  lag: number;
  consumed: number;
}

export class BacklogEstimate {
  private readings: Reading[] = [];

  /** One reading of the group's backlog at time `at` (ms; readings in time order). */
  observe(at: number, lag: number, consumed: number): void {
    const last = this.readings[this.readings.length - 1];
    // offsets moved back (the group was reset, the topic recreated): start over
    if (last && (consumed < last.consumed || at <= last.at)) this.readings = [];
    this.readings.push({ at, lag, consumed });
    // keep one reading at or before the window's start, as the first interval's beginning
    while (this.readings.length > 2 && this.readings[1].at <= at - WINDOW_MS) this.readings.shift();
  }

  /** messages behind at the last reading; null before the first */
  lag(): number | null {
    return this.readings.length === 0 ? null : this.readings[this.readings.length - 1].lag;
  }

  /** messages per second drained while there was work, over the window; null when unknown */
  rate(): number | null {
    let drained = 0;
    let busyMs = 0;
    for (let i = 1; i < this.readings.length; i++) {
      const a = this.readings[i - 1];
      const b = this.readings[i];
      const d = b.consumed - a.consumed;
      if (a.lag > 0 || d > 0) {
        drained += d;
        busyMs += b.at - a.at;
      }
    }
    return drained > 0 && busyMs > 0 ? (drained * 1000) / busyMs : null;
  }

  /**
   * seconds the work behind takes at the measured rate: 0 when none, null when unknown.
   * `more`: messages known to have joined since the last reading (what this process accepted).
   */
  seconds(more = 0): number | null {
    const read = this.lag();
    if (read === null) return null;
    const lag = read + more;
    if (lag === 0) return 0;
    const rate = this.rate();
    return rate === null ? null : lag / rate;
  }
}
