import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { type Backend, SendingChain, type SeriesOutcome } from '../../backends/index.js';
import { keys, type SharedStore } from '../../cache/index.js';
import { PermanentError, RetryableError } from '../../model/index.js';
import { Metrics } from '../../observability/index.js';
import {
  TOPICS,
  decodeNormalizedSeries,
  toDeadLetter,
  type IncomingMessage,
  type MessageBatch,
  type NormalizedSeries,
  type OutgoingMessage,
  type QueueBroker,
} from '../../queue/index.js';
import { BACKEND_LIST, QUEUE_BROKER, SHARED_STORE } from '../core/tokens.js';
import {
  FleetRecorder,
  instanceOf,
  serviceOf,
  spyOf,
  type AgentKey,
  type ExportFacet,
} from '../fleet/fleet.recorder.js';

// The export stage: every normalised series to every configured backend, exactly once per
// backend. Per backend: series already recorded as delivered (shared store, per backend, keyed
// by the deterministic series id) are skipped; the rest go through the backend's sending chain
// (batcher → ingestion window → retry → timeout → send, libs/backends/sending) and this call
// waits for their outcomes; the sent ones are recorded at once. Backends run side by side, so a
// slow one does not delay the others' records.
//
// The consumed batch resolves (and its offsets are committed) only when every backend has an
// outcome for every series: sent, or rejected for good (dead-lettered with the reason:
// `export_rejected`, `not_in_ingestion_window`). A backend still failing after its retry budget
// fails the batch with RetryableError; the queue transport retries it in place, and the
// delivered-ids record keeps the backends that did succeed from seeing it twice.

const DELIVERED_TTL_MS = 24 * 3600 * 1000;

interface Item {
  s: NormalizedSeries;
  m: IncomingMessage;
}

@Injectable()
export class ExportService implements OnModuleDestroy {
  private readonly log = new Logger('Exporter');
  private readonly chains: SendingChain[];
  private active = 0;
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(BACKEND_LIST) backends: Backend[],
    @Inject(SHARED_STORE) private readonly store: SharedStore,
    @Inject(QUEUE_BROKER) private readonly broker: QueueBroker,
    private readonly metrics: Metrics,
    @Optional() private readonly fleet?: FleetRecorder,
  ) {
    const chains = (this.chains = backends.map(
      (b) =>
        new SendingChain(b, {
          activeContributors: () => this.active,
          signal: this.shutdown.signal,
          onRetry: () => this.metrics.exportRetries.inc({ backend: b.name }),
          onDelivered: (sent) => this.markDelivered(b.name, sent),
        }),
    ));
    // back-pressure made visible: bytes each backend is sending right now (bounded by
    // batch.maxInFlightBytes; at the bound, consumption waits)
    const gauge: Gauge<'backend'> = new Gauge({
      name: 'emberflow_exporter_in_flight_bytes',
      help: 'Bytes of series being sent to each backend (bounded by its in-flight budget).',
      labelNames: ['backend'] as const,
      registers: [metrics.registry],
      collect: () => {
        for (const c of chains) gauge.set({ backend: c.backend.name }, c.bytesInFlight);
      },
    });
  }

  async handleBatch(batch: MessageBatch): Promise<void> {
    this.active++;
    try {
      await this.handle(batch);
    } finally {
      this.active--;
    }
  }

  async onModuleDestroy(): Promise<void> {
    // Shutdown starts: retry waits and in-flight attempts are cut short so the consumer can
    // leave promptly (Nest closes the transport right after); what was not acknowledged stays
    // uncommitted and is redelivered. Pending chunks are flushed or failed, never dropped.
    this.shutdown.abort();
    await Promise.allSettled(this.chains.map((c) => c.close()));
  }

  private async handle(batch: MessageBatch): Promise<void> {
    const items: Item[] = [];
    const dead: OutgoingMessage[] = [];
    // A series can be in the topic twice (a producer retry, a decoder redoing an upload); both
    // copies in one batch would pass the delivered-ids check together, so keep the first.
    const seen = new Set<string>();
    for (const m of batch.messages) {
      try {
        const s = decodeNormalizedSeries(m);
        const id = `${s.tenant}\u0000${s.seriesId}`;
        if (seen.has(id)) {
          this.metrics.exportedSeries.inc({ backend: 'all', outcome: 'skipped_duplicate' });
          continue;
        }
        seen.add(id);
        items.push({ s, m });
      } catch (err) {
        const reason = err instanceof PermanentError ? err.reason : 'bad_message';
        dead.push(toDeadLetter(m, reason, (err as Error).message));
        this.metrics.deadLettered.inc({ topic: m.topic, reason });
      }
    }
    const beat = setInterval(() => void batch.heartbeat().catch(() => {}), 3_000);
    let results: PromiseSettledResult<OutgoingMessage[]>[];
    try {
      results = await Promise.allSettled(this.chains.map((c) => this.deliver(c, items)));
    } finally {
      clearInterval(beat);
    }
    let failure: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') dead.push(...r.value);
      else failure ??= r.reason;
    }
    if (failure !== undefined) {
      throw failure instanceof RetryableError
        ? failure
        : new RetryableError(`export failed: ${(failure as Error).message}`, undefined, {
            cause: failure,
          });
    }
    if (dead.length > 0) await this.broker.publish(TOPICS.normalizedDlq, dead);
  }

  /** Sends what this backend has not had yet; returns dead letters for what it refused. */
  private async deliver(chain: SendingChain, all: Item[]): Promise<OutgoingMessage[]> {
    if (all.length === 0) return [];
    const name = chain.backend.name;
    const stop = this.metrics.time(`export_${name}`);
    try {
      const seen = await this.store.exists(
        all.map(({ s }) => keys.delivered(name, s.tenant, s.seriesId)),
      );
      const todo = all.filter((_, i) => !seen[i]);
      this.metrics.exportedSeries.inc(
        { backend: name, outcome: 'skipped_duplicate' },
        all.length - todo.length,
      );
      if (todo.length === 0) return [];
      let outcomes: SeriesOutcome[];
      try {
        outcomes = await chain.send(todo.map(({ s }) => s));
      } catch (err) {
        this.log.warn(
          `backend ${name}: ${todo.length} series not delivered yet: ${(err as Error).message}`,
        );
        void this.recordFleet(name, todo, undefined, err as Error);
        throw err;
      }
      const sent = todo.filter((_, i) => outcomes[i].kind === 'sent');
      this.metrics.exportedSeries.inc({ backend: name, outcome: 'sent' }, sent.length);
      const dead: OutgoingMessage[] = [];
      todo.forEach(({ s, m }, i) => {
        const o = outcomes[i];
        if (o.kind !== 'rejected') return;
        this.metrics.discarded.inc({ reason: o.reason, tenant: s.tenant });
        this.metrics.exportedSeries.inc({ backend: name, outcome: o.reason });
        dead.push(toDeadLetter(m, o.reason, o.message));
      });
      if (dead.length > 0) {
        this.log.warn(`backend ${name} refused ${dead.length} series (dead-lettered)`);
      }
      void this.recordFleet(name, todo, outcomes);
      return dead;
    } finally {
      stop();
    }
  }

  /**
   * Records acknowledged series as delivered (called per acknowledged chunk). Retried briefly;
   * if the store stays down the delivery stands, and only a crash before the next successful
   * record could make a redelivery send these again (at-least-once).
   */
  private async markDelivered(backend: string, sent: NormalizedSeries[]): Promise<void> {
    if (sent.length === 0) return;
    const ids = sent.map((s) => keys.delivered(backend, s.tenant, s.seriesId));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.mark(ids, DELIVERED_TTL_MS);
        return;
      } catch (err) {
        if (attempt >= 4) {
          this.log.warn(
            `backend ${backend}: ${ids.length} delivered series not recorded: ${(err as Error).message}`,
          );
          return;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  private async recordFleet(
    backend: string,
    items: Item[],
    outcomes: SeriesOutcome[] | undefined,
    error?: Error,
  ): Promise<void> {
    if (!this.fleet) return;
    const now = Date.now();
    const byTenant = new Map<string, Map<string, { key: AgentKey; facet: ExportFacet }>>();
    items.forEach(({ s }, i) => {
      const key: AgentKey = {
        tenant: s.tenant,
        service: serviceOf(s.labels),
        instance: instanceOf(s.labels),
      };
      const id = `${key.service}\u001f${key.instance}`;
      let agents = byTenant.get(s.tenant);
      if (!agents) byTenant.set(s.tenant, (agents = new Map()));
      let e = agents.get(id);
      if (!e) {
        e = {
          key,
          facet: {
            at: now,
            series: 0,
            bytes: 0,
            backend,
            outcome: 'sent',
            spyName: spyOf(s.labels),
          },
        };
        agents.set(id, e);
      }
      e.facet.series++;
      e.facet.bytes += s.pprof.length;
      const o = outcomes ? (outcomes[i].kind === 'sent' ? 'sent' : 'rejected') : 'retrying';
      if (e.facet.outcome === 'sent') e.facet.outcome = o;
    });
    for (const [tenant, agents] of byTenant) {
      if (error) {
        for (const { key } of agents.values())
          await this.fleet.failed(key, {
            at: now,
            stage: 'exporter',
            message: `${backend}: ${error.message}`,
          });
      } else await this.fleet.exported(tenant, [...agents.values()]);
    }
  }
}
