import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// Every metric Emberflow exports, in one registry per process, named emberflow_<stage>_<thing>.
// Stage latencies are histograms; counts carry tenant where a tenant exists. Metrics never carry
// per-upload values (ids, names of series) so cardinality stays bounded.

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();

  readonly ingestRequests = new Counter({
    name: 'emberflow_ingest_requests_total',
    help: 'Uploads received, by format, agent, tenant and HTTP status.',
    labelNames: ['format', 'spy', 'tenant', 'status'] as const,
    registers: [this.registry],
  });
  readonly ingestBytes = new Counter({
    name: 'emberflow_ingest_received_bytes_total',
    help: 'Request body bytes received, as sent (compressed) and after inflating gzip (decompressed).',
    labelNames: ['tenant', 'encoding'] as const,
    registers: [this.registry],
  });
  readonly ingestDuplicates = new Counter({
    name: 'emberflow_ingest_duplicate_uploads_total',
    help: 'Uploads identical to one accepted within the dedupe window: answered 200, not published again.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly stageDuration = new Histogram({
    name: 'emberflow_stage_duration_seconds',
    help: 'Time spent per unit of work in each stage (ingest publish, decode, export).',
    labelNames: ['stage'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly discarded = new Counter({
    name: 'emberflow_discarded_profiles_total',
    help: 'Uploads or series dropped, by reason (after Pyroscope validation.Reason) and tenant.',
    labelNames: ['reason', 'tenant'] as const,
    registers: [this.registry],
  });
  readonly decodedSeries = new Counter({
    name: 'emberflow_decoder_series_total',
    help: 'Normalised series published by the decoder.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly decodedBytes = new Counter({
    name: 'emberflow_decoder_decompressed_bytes_total',
    help: 'Bytes decoded after inflating, per tenant (the decompressed size of what ingest received).',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly labelRepairs = new Counter({
    name: 'emberflow_decoder_label_repairs_total',
    help: 'Series labels repaired where a backend would have rejected them (e.g. a rule removed service_name).',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly relabelDroppedSamples = new Counter({
    name: 'emberflow_decoder_relabel_dropped_samples_total',
    help: 'Samples dropped by sample relabel rules.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly labelOverflow = new Counter({
    name: 'emberflow_decoder_label_overflow_total',
    help: 'Label values replaced by the overflow marker because their label reached the cardinality cap.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({
    name: 'emberflow_dead_lettered_messages_total',
    help: 'Messages sent to a dead-letter topic, by source topic and reason.',
    labelNames: ['topic', 'reason'] as const,
    registers: [this.registry],
  });
  readonly exportedSeries = new Counter({
    name: 'emberflow_exporter_series_total',
    help: 'Series delivered, by backend and outcome (sent, skipped_duplicate).',
    labelNames: ['backend', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly exportRetries = new Counter({
    name: 'emberflow_exporter_retries_total',
    help: 'Retried delivery attempts, by backend.',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });
  /** set by bootstrap when the in-process queue is in use */
  queueBytesSource: (() => number) | undefined;
  readonly queueHeldBytes = new Gauge({
    name: 'emberflow_memory_queue_held_bytes',
    help: 'Bytes held by the in-process queue (embedded default only).',
    registers: [this.registry],
    collect: () => {
      if (this.queueBytesSource) this.queueHeldBytes.set(this.queueBytesSource());
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'emberflow_' });
  }

  /** Starts a timer for a stage; call the result when the work is done. */
  time(stage: string): () => void {
    return this.stageDuration.startTimer({ stage });
  }
}
