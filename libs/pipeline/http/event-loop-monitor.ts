// How late the event loop runs a timer: the process's own measure of CPU overload. A 100 ms
// interval notes its drift; delayMs() is the worst drift of the last second (two half-second
// windows, so a single stall is seen for at least 500 ms and at most one second). Admission
// sheds new uploads while it is past EMBER_INGEST_MAX_EVENT_LOOP_DELAY, so a saturated process
// stops taking work before its health checks and acknowledgements time out.

const TICK_MS = 100;
const WINDOW_MS = 500;

export class EventLoopMonitor {
  private readonly timer: NodeJS.Timeout;
  private last = performance.now();
  private current = 0;
  private previous = 0;
  private windowStart = this.last;

  constructor() {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** worst timer delay of the last second, ms (a stall in progress counts as it grows) */
  delayMs(): number {
    const ongoing = Math.max(0, performance.now() - this.last - TICK_MS);
    return Math.max(this.current, this.previous, ongoing);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    const drift = Math.max(0, now - this.last - TICK_MS);
    this.last = now;
    if (now - this.windowStart >= WINDOW_MS) {
      this.previous = this.current;
      this.current = 0;
      this.windowStart = now;
    }
    this.current = Math.max(this.current, drift);
  }
}
