import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Backend } from '../../backends/backend.port.js';
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

// The export stage: every normalised series to every configured backend, exactly once per
// backend. For each backend, series already recorded as delivered (Redis, per backend, keyed by
// the deterministic series id) are skipped, the rest are sent, then recorded. The batch's
// offsets are committed only after every backend acknowledged: a crash anywhere means
// redelivery, and the delivered-ids record turns redelivery into a no-op.

const DELIVERED_TTL_MS = 24 * 3600 * 1000;

@Injectable()
export class ExportService {
  private readonly log = new Logger('Exporter');

  constructor(
    @Inject(BACKEND_LIST) private readonly backends: Backend[],
    @Inject(SHARED_STORE) private readonly store: SharedStore,
    @Inject(QUEUE_BROKER) private readonly broker: QueueBroker,
    private readonly metrics: Metrics,
  ) {}

  async handleBatch(batch: MessageBatch): Promise<void> {
    const series: { s: NormalizedSeries; m: IncomingMessage }[] = [];
    const dead: OutgoingMessage[] = [];
    for (const m of batch.messages) {
      try {
        series.push({ s: decodeNormalizedSeries(m), m });
      } catch (err) {
        const reason = err instanceof PermanentError ? err.reason : 'bad_message';
        dead.push(toDeadLetter(m, reason, (err as Error).message));
        this.metrics.deadLettered.inc({ topic: m.topic, reason });
      }
    }
    for (const backend of this.backends) {
      const stop = this.metrics.time(`export_${backend.name}`);
      try {
        dead.push(...(await this.deliver(backend, series, batch)));
      } finally {
        stop();
      }
    }
    if (dead.length > 0) await this.broker.publish(TOPICS.normalizedDlq, dead);
  }

  /** Sends what this backend has not had yet; returns dead letters for rejected series. */
  private async deliver(
    backend: Backend,
    all: { s: NormalizedSeries; m: IncomingMessage }[],
    batch: MessageBatch,
  ): Promise<OutgoingMessage[]> {
    if (all.length === 0) return [];
    const ids = all.map(({ s }) => keys.delivered(backend.name, s.tenant, s.seriesId));
    const seen = await this.store.exists(ids);
    const todo = all.filter((_, i) => !seen[i]);
    this.metrics.exportedSeries.inc(
      { backend: backend.name, outcome: 'skipped_duplicate' },
      all.length - todo.length,
    );
    if (todo.length === 0) return [];
    await batch.heartbeat();
    try {
      await backend.send(todo.map(({ s }) => s));
    } catch (err) {
      if (err instanceof PermanentError) {
        this.log.warn(`backend ${backend.name} rejected ${todo.length} series: ${err.message}`);
        this.metrics.discarded.inc(
          { reason: 'export_rejected', tenant: todo[0].s.tenant },
          todo.length,
        );
        return todo.map(({ m }) =>
          toDeadLetter(m, 'export_rejected', `${backend.name}: ${err.message}`),
        );
      }
      this.metrics.exportRetries.inc({ backend: backend.name });
      throw err instanceof RetryableError
        ? err
        : new RetryableError(`backend ${backend.name}: ${(err as Error).message}`, undefined, {
            cause: err,
          });
    }
    await this.store.mark(
      todo.map(({ s }) => keys.delivered(backend.name, s.tenant, s.seriesId)),
      DELIVERED_TTL_MS,
    );
    this.metrics.exportedSeries.inc({ backend: backend.name, outcome: 'sent' }, todo.length);
    return [];
  }
}
