import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
} from 'prom-client';
import { TenantLabels, boundedLabel } from './label-bounds.js';

// Every metric Emberflow exports, in one registry per process, named emberflow_<stage>_<thing>.
// Stage latencies are histograms; counts carry tenant where a tenant exists. Metrics never carry
// per-upload values (ids, names of series) so cardinality stays bounded.

/** One consumed partition, as the queue reports it (queue.port.ts PartitionStatus). */
export interface ConsumedPartition {
  group: string;
  topic: string;
  partition: number;
  lag: number | null;
  lastCommitAt: number | null;
  attempts: number;
  stalled: boolean;
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A counter whose tenant, spy, format, reason and status labels are bounded (label-bounds.ts)
 * whoever increments it, so no call site can add a series per invented value.
 */
class BoundedCounter<T extends string> extends Counter<T> {
  constructor(config: CounterConfiguration<T>, tenants: TenantLabels) {
    super(config);
    // prom-client assigns `inc` per instance in its constructor, so it is wrapped here rather
    // than overridden on the prototype
    const inc = this.inc.bind(this) as (
      labels?: Partial<Record<T, string | number>> | number,
      value?: number,
    ) => void;
    this.inc = ((a?: Partial<Record<T, string | number>> | number, value?: number): void => {
      if (a === undefined || typeof a === 'number') {
        inc(a);
        return;
      }
      const bounded: Partial<Record<T, string | number>> = {};
      for (const [k, v] of Object.entries(a) as [T, string | number][])
        bounded[k] = boundedLabel(k, String(v), tenants);
      inc(bounded, value);
    }) as Counter<T>['inc'];
  }
}

export class Metrics {
  readonly registry = new Registry();
  /** which tenants get their own label value (bootstrap: the config's, EMBER_METRICS_MAX_TENANTS) */
  readonly tenantLabels = new TenantLabels();

  readonly ingestRequests = new BoundedCounter(
    {
      name: 'emberflow_ingest_requests_total',
      help: 'Uploads received, by format, agent, tenant and HTTP status.',
      labelNames: ['format', 'spy', 'tenant', 'status'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly ingestBytes = new BoundedCounter(
    {
      name: 'emberflow_ingest_received_bytes_total',
      help: 'Request body bytes received, as sent (compressed) and after inflating gzip (decompressed).',
      labelNames: ['tenant', 'encoding'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly ingestDuplicates = new BoundedCounter(
    {
      name: 'emberflow_ingest_duplicate_uploads_total',
      help: 'Uploads identical to one accepted within the dedupe window: answered 200, not published again.',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly stageDuration = new Histogram({
    name: 'emberflow_stage_duration_seconds',
    help: 'Time spent per unit of work in each stage (ingest publish, decode, export).',
    labelNames: ['stage'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly discarded = new BoundedCounter(
    {
      name: 'emberflow_discarded_profiles_total',
      help: 'Uploads or series dropped, by reason (after Pyroscope validation.Reason) and tenant.',
      labelNames: ['reason', 'tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly decodedSeries = new BoundedCounter(
    {
      name: 'emberflow_decoder_series_total',
      help: 'Normalised series published by the decoder.',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly decodedBytes = new BoundedCounter(
    {
      name: 'emberflow_decoder_decompressed_bytes_total',
      help: 'Bytes decoded after inflating, per tenant (the decompressed size of what ingest received).',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly labelRepairs = new BoundedCounter(
    {
      name: 'emberflow_decoder_label_repairs_total',
      help: 'Series labels repaired where a backend would have rejected them (e.g. a rule removed service_name).',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly relabelDroppedSamples = new BoundedCounter(
    {
      name: 'emberflow_decoder_relabel_dropped_samples_total',
      help: 'Samples dropped by sample relabel rules.',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly labelOverflow = new BoundedCounter(
    {
      name: 'emberflow_decoder_label_overflow_total',
      help: 'Label values replaced by the overflow marker because their label reached the cardinality cap.',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly deadLettered = new BoundedCounter(
    {
      name: 'emberflow_dead_lettered_messages_total',
      help: 'Messages sent to a dead-letter topic, by source topic and reason.',
      labelNames: ['topic', 'reason'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
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
  readonly seriesParts = new BoundedCounter(
    {
      name: 'emberflow_decoder_series_parts_total',
      help: 'Records published for series split into parts (larger than EMBER_MAX_SERIES_BYTES or the topic limit).',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
    },
    this.tenantLabels,
  );
  readonly consumerRetries = new Counter({
    name: 'emberflow_consumer_retries_total',
    help: 'Failed attempts of a stage on consumed messages that were retried, by consumer group and topic.',
    labelNames: ['group', 'topic'] as const,
    registers: [this.registry],
  });
  /** set by bootstrap: the partitions this process consumes */
  consumerSource: (() => ConsumedPartition[]) | undefined;
  readonly consumerLag = new Gauge({
    name: 'emberflow_consumer_lag',
    help: 'Messages behind the end of each partition this process consumes (-1: not known yet).',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
    collect: () => this.collectConsumers(),
  });
  readonly consumerStalled = new Gauge({
    name: 'emberflow_consumer_stalled',
    help: 'A consumed partition with lag and no commit for longer than EMBER_STALL_TIMEOUT (1) or not (0).',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });
  readonly consumerLastCommit = new Gauge({
    name: 'emberflow_consumer_last_commit_timestamp_seconds',
    help: 'When each consumed partition last committed (0: not since this process owns it).',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });
  readonly consumerFailedAttempts = new Gauge({
    name: 'emberflow_consumer_failed_attempts',
    help: 'Consecutive failed attempts of the work in hand on each consumed partition.',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });
  /** set by bootstrap when dead letters are kept in the embedded store */
  deadLetterSource: (() => { count: number; bytes: number }) | undefined;
  readonly deadLetterBytes = new Gauge({
    name: 'emberflow_dead_letter_store_bytes',
    help: 'Bytes of dead letters kept in the embedded dead-letter store (embedded default only).',
    registers: [this.registry],
    collect: () => {
      if (this.deadLetterSource) this.deadLetterBytes.set(this.deadLetterSource().bytes);
    },
  });
  readonly deadLetterCount = new Gauge({
    name: 'emberflow_dead_letter_store_letters',
    help: 'Dead letters kept in the embedded dead-letter store (embedded default only).',
    registers: [this.registry],
    collect: () => {
      if (this.deadLetterSource) this.deadLetterCount.set(this.deadLetterSource().count);
    },
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

  readonly shedRequests = new Counter({
    name: 'emberflow_ingest_shed_requests_total',
    help: 'Uploads answered 429 or 503 by admission control before their body was read, by reason (process_full, tenant_over_share, downstream_full, event_loop_overloaded, pipeline_behind, waiting_room_full, shutting_down) and status.',
    labelNames: ['reason', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpTimeouts = new Counter({
    name: 'emberflow_http_timeouts_total',
    help: 'Requests cut off by a timeout of the HTTP edge, by phase (body: 408, the body arrived below EMBER_HTTP_BODY_MIN_RATE; handler: 503, no answer within EMBER_HTTP_HANDLER_TIMEOUT).',
    labelNames: ['phase'] as const,
    registers: [this.registry],
  });
  /** set by bootstrap where ingest runs: admission state for the gauges below */
  admissionSource:
    (() => { bytes: number; requests: number; waiting: number; budgetBytes: number }) | undefined;
  /** set by bootstrap in a process running ingest (libs/pipeline/http/pipeline-backlog.ts) */
  backlogSource:
    (() => { stage: string; seconds: number | null; lag: number | null }[]) | undefined;
  readonly pipelineBacklogSeconds = new Gauge({
    name: 'emberflow_ingest_pipeline_backlog_seconds',
    help: 'Seconds of accepted uploads waiting behind each stage (decoder, exporter), as ingest estimates it from the consumer groups (-1: not known: no reading yet, or the stage drains nothing). Profile uploads are held while the sum is past EMBER_INGEST_MAX_BACKLOG.',
    labelNames: ['stage'] as const,
    registers: [this.registry],
    collect: () => {
      for (const s of this.backlogSource?.() ?? [])
        this.pipelineBacklogSeconds.set({ stage: s.stage }, s.seconds ?? -1);
    },
  });
  readonly pipelineBacklogMessages = new Gauge({
    name: 'emberflow_ingest_pipeline_backlog_messages',
    help: 'Messages waiting behind each stage (decoder, exporter), summed over partitions, as ingest last read them (-1: not known).',
    labelNames: ['stage'] as const,
    registers: [this.registry],
    collect: () => {
      for (const s of this.backlogSource?.() ?? [])
        this.pipelineBacklogMessages.set({ stage: s.stage }, s.lag ?? -1);
    },
  });
  readonly inflightBytes = new Gauge({
    name: 'emberflow_ingest_inflight_bytes',
    help: 'Bytes of upload bodies admitted and not yet answered (bounded by emberflow_ingest_inflight_budget_bytes).',
    registers: [this.registry],
    collect: () => {
      if (this.admissionSource) this.inflightBytes.set(this.admissionSource().bytes);
    },
  });
  readonly inflightUploads = new Gauge({
    name: 'emberflow_ingest_inflight_uploads',
    help: 'Uploads admitted and not yet answered (bounded by EMBER_INGEST_MAX_CONCURRENT).',
    registers: [this.registry],
    collect: () => {
      if (this.admissionSource) this.inflightUploads.set(this.admissionSource().requests);
    },
  });
  readonly admissionWaiting = new Gauge({
    name: 'emberflow_ingest_admission_waiting',
    help: 'Uploads waiting for room in the in-flight budget, their bodies not read yet.',
    registers: [this.registry],
    collect: () => {
      if (this.admissionSource) this.admissionWaiting.set(this.admissionSource().waiting);
    },
  });
  readonly inflightBudget = new Gauge({
    name: 'emberflow_ingest_inflight_budget_bytes',
    help: 'The in-flight budget of upload bodies (EMBER_INGEST_INFLIGHT_BYTES, by default derived from the memory available).',
    registers: [this.registry],
    collect: () => {
      if (this.admissionSource) this.inflightBudget.set(this.admissionSource().budgetBytes);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'emberflow_' });
  }

  /** The consumer gauges, rebuilt from the queue's status at every scrape. */
  private collectConsumers(): void {
    if (!this.consumerSource) return;
    for (const g of [
      this.consumerLag,
      this.consumerStalled,
      this.consumerLastCommit,
      this.consumerFailedAttempts,
    ])
      g.reset();
    for (const p of this.consumerSource()) {
      const l = { group: p.group, topic: p.topic, partition: String(p.partition) };
      this.consumerLag.set(l, p.lag ?? -1);
      this.consumerStalled.set(l, p.stalled ? 1 : 0);
      this.consumerLastCommit.set(l, p.lastCommitAt ? p.lastCommitAt / 1000 : 0);
      this.consumerFailedAttempts.set(l, p.attempts);
    }
  }

  /** Starts a timer for a stage; call the result when the work is done. */
  time(stage: string): () => void {
    return this.stageDuration.startTimer({ stage });
  }
}
