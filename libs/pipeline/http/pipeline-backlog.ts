// The backlog behind ingest: how many seconds of accepted uploads wait to be decoded and stored.
// Ingest reads the consumer groups' positions from the broker (Kafka: the groups' committed
// offsets, whichever process consumes them) every POLL_MS and estimates, per stage, the work
// behind over the rate that stage drains it (backlog-estimate.ts); the stages add up, since an
// upload waits behind both.
//
// Why: ingest alone is cheap (a body, a scan, a produce), so with Kafka between the stages it
// can accept far more than the decoder and exporter drain. Every upload is kept, but one
// accepted now is queryable only after everything before it: at twice the drain rate, minutes
// after a burst. Admission holds new uploads while the backlog is past EMBER_INGEST_MAX_BACKLOG,
// so the agents slow to what the pipeline drains and an accepted profile is queryable within
// seconds. A stage that drains nothing (stopped, restarting) is not counted: riding out a
// consumer outage is what the durable queue is for.
//
// Between readings the estimate counts what this process admitted since (noteAdmitted): ingest
// admits in a few milliseconds what the decoder takes a second for, so half a second of
// admissions on a stale reading would overshoot the limit many times over. Other replicas'
// admissions show at the next reading.
//
// Contract: start() is safe to call twice; close() stops the polling. A failed read keeps the
// last estimate for STALE_MS, then the backlog counts as unknown (not shed on): the broker being
// away is the publish path's error to report, not admission's.

import type { QueueBroker } from '../../queue/index.js';
import { BacklogEstimate } from './backlog-estimate.js';

export const POLL_MS = 500;
const STALE_MS = 5_000;

export interface BacklogStage {
  /** a short name for metrics and messages: 'decoder', 'exporter' */
  name: string;
  groupId: string;
  topic: string;
  /** true for the stage the admitted uploads enter (the decoder's raw topic) */
  entry?: boolean;
}

interface StageState extends BacklogStage {
  estimate: BacklogEstimate;
  readAt: number;
  /** admissions counted in the last reading (entry stage) */
  admittedAtRead: number;
}

export class PipelineBacklog {
  private readonly stages: StageState[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly now: () => number;
  /** uploads admitted by this process so far */
  private admitted = 0;
  private readonly onError: ((stage: string, err: unknown) => void) | undefined;

  constructor(
    private readonly broker: Pick<QueueBroker, 'groupBacklog'>,
    stages: readonly BacklogStage[],
    options: { now?: () => number; onError?: (stage: string, err: unknown) => void } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.onError = options.onError;
    this.stages = stages.map((s) => ({
      ...s,
      estimate: new BacklogEstimate(),
      readAt: 0,
      admittedAtRead: 0,
    }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async (): Promise<void> => {
      await this.poll();
      if (this.running) {
        this.timer = setTimeout(() => void loop(), POLL_MS);
        this.timer.unref();
      }
    };
    void loop();
  }

  close(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Reads every stage once (the poll loop's step; tests call it directly). */
  async poll(): Promise<void> {
    await Promise.all(
      this.stages.map(async (s) => {
        // admitted before the read began are in it (or about to be: they are publishing)
        const admitted = this.admitted;
        try {
          const b = await this.broker.groupBacklog(s.groupId, s.topic);
          s.readAt = this.now();
          s.admittedAtRead = admitted;
          s.estimate.observe(s.readAt, b.lag, b.consumed);
        } catch (err) {
          this.onError?.(s.name, err);
        }
      }),
    );
  }

  /** An upload was admitted into the pipeline (safe to call for one that is then refused). */
  noteAdmitted(): void {
    this.admitted++;
  }

  /** per stage: seconds behind (null when unknown or stale) and messages behind */
  snapshot(): { stage: string; seconds: number | null; lag: number | null }[] {
    const now = this.now();
    return this.stages.map((s) => {
      const fresh = now - s.readAt <= STALE_MS;
      const more = s.entry ? this.admitted - s.admittedAtRead : 0;
      const lag = s.estimate.lag();
      return {
        stage: s.name,
        seconds: fresh ? s.estimate.seconds(more) : null,
        lag: fresh && lag !== null ? lag + more : null,
      };
    });
  }

  /** seconds of accepted work waiting behind every stage together (unknown stages count 0) */
  seconds(): number {
    let total = 0;
    for (const s of this.snapshot()) total += s.seconds ?? 0;
    return total;
  }
}
