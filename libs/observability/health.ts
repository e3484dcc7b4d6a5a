// Readiness is the conjunction of named checks that components register at start-up (Kafka
// reachable, Redis reachable, consumers joined). Liveness is separate and never calls out.
// A check can pass and still be degraded (a consumed partition stalled): the process keeps
// serving (it is ready), and /readyz says what is wrong.

export interface CheckResult {
  ok: boolean;
  detail: string;
  /** ok, but something needs an operator (e.g. a stalled partition) */
  degraded?: boolean;
}

export type ReadinessCheck = () => Promise<CheckResult>;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private drainingSince: number | undefined;

  /**
   * Shutdown has begun: the process stops taking new work (ingest answers 503) and reports
   * not ready, while what it already accepted is finished. Safe to call twice.
   */
  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async evaluate(): Promise<{
    ok: boolean;
    degraded: boolean;
    checks: Record<string, CheckResult>;
  }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          return [name, await check()] as const;
        } catch (err) {
          return [name, { ok: false, detail: (err as Error).message }] as const;
        }
      }),
    );
    const checks: Record<string, CheckResult> = Object.fromEntries(entries);
    if (this.drainingSince !== undefined) {
      checks.shutdown = { ok: false, detail: 'shutting down: finishing accepted work' };
      return { ok: false, degraded: false, checks };
    }
    return {
      ok: entries.every(([, r]) => r.ok),
      degraded: entries.some(([, r]) => (r as CheckResult).degraded === true),
      checks,
    };
  }
}
