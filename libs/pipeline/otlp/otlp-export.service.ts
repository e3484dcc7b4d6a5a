import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { fromBinary } from '@bufbuild/protobuf';
import { SendingChain, type OtlpBackend, type SpanStore } from '../../backends/index.js';
import { keys, type SharedStore } from '../../cache/index.js';
import { PermanentError, RetryableError } from '../../model/index.js';
import { Metrics } from '../../observability/index.js';
import { OTLP_SIGNAL_SPECS, flattenSpans, type OtlpSignal } from '../../protocol/index.js';
import type { ExportTraceServiceRequest } from '../../protocol/otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import {
  TOPICS,
  decodeOtlpBatch,
  toDeadLetter,
  type IncomingMessage,
  type MessageBatch,
  type OtlpBatch,
  type OutgoingMessage,
  type QueueBroker,
} from '../../queue/index.js';
import { OTLP_BACKENDS, QUEUE_BROKER, SHARED_STORE, SPAN_STORE } from '../core/tokens.js';

// The OTLP export stage: each consumed batch of one signal's topic goes
//   - for traces, into the embedded span store (idempotent: spans are keyed by trace and span
//     id), synchronously, before anything else;
//   - to every OTLP backend configured for the signal, through its sending chain (batching,
//     retry with backoff and Retry-After, timeout, in-flight budget), skipping requests the
//     backend already took (delivered ids by batch id, recorded per acknowledged chunk).
// The handler resolves, and the offsets are committed, only once every destination has an
// outcome for every request: a receiver outage keeps the partition where it is (the transport
// retries the batch in place), so nothing is lost and, with the delivered ids, nothing is sent
// twice. A message that does not decode, or that a backend refuses for good, is dead-lettered to
// the signal's DLQ with the reason.

const DELIVERED_TTL_MS = 24 * 3600 * 1000;

const DLQ: Record<OtlpSignal, string> = {
  traces: TOPICS.tracesDlq,
  metrics: TOPICS.metricsDlq,
  logs: TOPICS.logsDlq,
};

interface Item {
  b: OtlpBatch;
  m: IncomingMessage;
}

@Injectable()
export class OtlpExportService implements OnModuleDestroy {
  private readonly log = new Logger('OtlpExporter');
  private readonly chains = new Map<OtlpSignal, SendingChain<OtlpBatch>[]>();
  private readonly shutdown = new AbortController();
  private active = 0;

  constructor(
    @Inject(OTLP_BACKENDS) backends: OtlpBackend[],
    @Inject(SPAN_STORE) private readonly spans: SpanStore | null,
    @Inject(SHARED_STORE) private readonly store: SharedStore,
    @Inject(QUEUE_BROKER) private readonly broker: QueueBroker,
    private readonly metrics: Metrics,
  ) {
    for (const b of backends) {
      const chain = new SendingChain<OtlpBatch>(b, {
        activeContributors: () => this.active,
        signal: this.shutdown.signal,
        onRetry: () => this.metrics.exportRetries.inc({ backend: b.name }),
        onDelivered: (sent) => this.markDelivered(b.name, b.signal, sent),
      });
      const list = this.chains.get(b.signal) ?? [];
      list.push(chain);
      this.chains.set(b.signal, list);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.chains.values()].flat().map((c) => c.close()));
  }

  async handleBatch(signal: OtlpSignal, batch: MessageBatch): Promise<void> {
    this.active++;
    try {
      await this.handle(signal, batch);
    } finally {
      this.active--;
    }
  }

  private async handle(signal: OtlpSignal, batch: MessageBatch): Promise<void> {
    const items: Item[] = [];
    const dead: OutgoingMessage[] = [];
    const seen = new Set<string>();
    for (const m of batch.messages) {
      try {
        const b = decodeOtlpBatch(m);
        const id = `${b.tenant}\u0000${b.batchId}`;
        if (seen.has(id)) continue;
        seen.add(id);
        if (signal === 'traces' && this.spans) {
          const req = fromBinary(
            OTLP_SIGNAL_SPECS.traces.request,
            b.body,
          ) as unknown as ExportTraceServiceRequest;
          this.spans.add(b.tenant, flattenSpans(req));
        }
        // metrics and logs were validated at ingest and go on as the bytes they are
        items.push({ b, m });
      } catch (err) {
        if (err instanceof RetryableError) throw err;
        const reason = err instanceof PermanentError ? err.reason : 'bad_message';
        dead.push(toDeadLetter(m, reason, (err as Error).message));
        this.metrics.deadLettered.inc({ topic: m.topic, reason });
      }
    }
    const chains = this.chains.get(signal) ?? [];
    const beat = setInterval(() => void batch.heartbeat().catch(() => {}), 3_000);
    let results: PromiseSettledResult<OutgoingMessage[]>[];
    try {
      results = await Promise.allSettled(chains.map((c) => this.deliver(c, items)));
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
        : new RetryableError(`OTLP export failed: ${(failure as Error).message}`, undefined, {
            cause: failure,
          });
    }
    if (dead.length > 0) await this.broker.publish(DLQ[signal], dead);
  }

  private async deliver(chain: SendingChain<OtlpBatch>, all: Item[]): Promise<OutgoingMessage[]> {
    if (all.length === 0) return [];
    const name = chain.backend.name;
    const signal = (chain.backend as OtlpBackend).signal;
    const seen = await this.store.exists(
      all.map(({ b }) => keys.delivered(`${name}.${signal}`, b.tenant, b.batchId)),
    );
    const todo = all.filter((_, i) => !seen[i]);
    if (todo.length === 0) return [];
    let outcomes;
    try {
      outcomes = await chain.send(todo.map(({ b }) => b));
    } catch (err) {
      this.log.warn(
        `backend ${name} (${signal}): ${todo.length} requests not delivered yet: ${(err as Error).message}`,
      );
      throw err;
    }
    const dead: OutgoingMessage[] = [];
    todo.forEach(({ b, m }, i) => {
      const o = outcomes[i];
      if (o.kind === 'sent') {
        this.metrics.exportedSeries.inc({ backend: name, outcome: 'sent' });
        return;
      }
      this.metrics.exportedSeries.inc({ backend: name, outcome: o.reason });
      this.metrics.discarded.inc({ reason: o.reason, tenant: b.tenant });
      dead.push(toDeadLetter(m, o.reason, o.message));
    });
    if (dead.length > 0)
      this.log.warn(`backend ${name} refused ${dead.length} ${signal} requests (dead-lettered)`);
    return dead;
  }

  private async markDelivered(
    backend: string,
    signal: OtlpSignal,
    sent: OtlpBatch[],
  ): Promise<void> {
    if (sent.length === 0) return;
    const ids = sent.map((b) => keys.delivered(`${backend}.${signal}`, b.tenant, b.batchId));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.mark(ids, DELIVERED_TTL_MS);
        return;
      } catch (err) {
        if (attempt >= 4) {
          this.log.warn(
            `backend ${backend}: ${ids.length} delivered requests not recorded: ${(err as Error).message}`,
          );
          return;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }
}
