import './native-crc32c.js';
import './produce-request.js';
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  IHeaders,
  Producer,
  Kafka as KafkaClient,
  KafkaMessage,
  logCreator,
} from 'kafkajs';
import type {
  GroupBacklog,
  IncomingMessage,
  OutgoingMessage,
  PartitionStatus,
  QueueBroker,
  QueueHealth,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../queue.port.js';
import { PermanentError, RetryableError, backoffMs } from '../../model/index.js';
import { ConsumerMonitor } from '../consumer/consumer-monitor.js';
import { retryPolicy, type FailureRecord } from '../consumer/retry-policy.js';
import { runSlice, type SliceDriver } from '../consumer/slice-runner.js';
import { letterBytes } from '../dead-letters/dead-letter-sink.js';
import { sleep } from '../consumer/abortable-sleep.js';
import { classifyProduceError } from './produce-errors.js';
import { ProduceCoalescer } from './produce-coalescer.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

// The queue port on Apache Kafka through kafkajs (docs/adr/0004, 0008):
// - producer: acks = -1 (all in-sync replicas), no client-side compression (bodies are mostly
//   gzip already), the murmur2 default partitioner so keys map like the Java client's. A publish
//   is split into produce requests that fit the topic's limit as the broker reports it; a
//   record that can never fit, or that the broker refuses as invalid, is a PermanentError.
//   Concurrent publishes to one topic that fit one request share it (produce-coalescer.ts): the
//   broker's cost is per request, and ingest publishes one upload per HTTP request.
// - consumer: kafkajs fetches; every partition has its own worker with its own buffer, and the
//   fetch callback only hands messages over and returns. kafkajs's fetch loop waits for every
//   batch of a fetch before the next one, so work done inside it would let one slow or failing
//   partition stall all of them; here it never does. A worker runs slices through the shared
//   slice runner (retry, isolation, retry budget, dead letters) and commits each one itself.
//   A partition whose buffer is over its share of the byte budget is paused until it drains:
//   memory is bounded by the budget, not by the backlog.
// - a rebalance (GROUP_JOIN) retires every worker: a retired worker finishes its slice without
//   committing, its buffer is dropped, and kafkajs fetches again from the committed offsets, so
//   nothing is skipped (at-least-once; the stages are idempotent).

export interface KafkaBrokerOptions {
  brokers: string[];
  clientId: string;
  /** per request; producer send and admin calls */
  requestTimeoutMs: number;
  /** bytes fetched per partition and request (Kafka returns a larger first record anyway) */
  maxBytesPerPartition?: number;
  /** bytes fetched per request, all partitions */
  maxBytesPerFetch?: number;
  /** fetched but unprocessed bytes one subscription may hold, all its partitions together */
  maxBufferedBytes?: number;
  /**
   * Upper bound of one produce request's record bytes (each topic's own limit applies too).
   * kafkajs encodes a request synchronously, copying it once per nesting level: 8 MiB requests
   * held the decoder's event loop for up to 440 ms (docs/adr/0008, last addendum).
   */
  maxProduceRequestBytes?: number;
  /**
   * How long the broker may hold a consumer's fetch (Kafka's fetch.max.wait.ms). kafkajs's
   * default is 5 s, and with it a consumer regularly sees nothing for the whole 5 s although
   * records wait in its partitions (tulios/kafkajs#370, #1365, #1397): in the three-process
   * benchmark the decoder sat on 684 waiting uploads for 5 s at a time, and what ingest had
   * accepted was queryable 7-148 s later. A short wait costs an idle consumer a few empty
   * fetches a second.
   */
  fetchMaxWaitMs?: number;
  sessionTimeoutMs: number;
  /** a partition with lag and no commit for this long is reported stalled */
  stallAfterMs?: number;
  /** how often consumer lag is read from the broker */
  lagPollMs?: number;
  /**
   * Prefix for every topic and consumer group this broker touches (EMBER_NAMESPACE), so
   * several environments or test runs can share one cluster. Callers always use the unprefixed
   * contract names; the prefix is added on the way out and removed on the way in.
   */
  namespace?: string;
  log: (level: 'error' | 'warn' | 'info', message: string) => void;
  /** counters for /metrics */
  onRetry?: (group: string, topic: string) => void;
  onDeadLetter?: (group: string, topic: string, reason: string) => void;
}

/** Bytes of record-batch framing Kafka adds around records (v2 batch header + record header). */
const BATCH_OVERHEAD = 512;
const MiB = 1024 * 1024;

/** Defaults of the optional settings; bootstrap passes the configured ones. */
export const KAFKA_DEFAULTS: Required<
  Pick<
    KafkaBrokerOptions,
    | 'maxBytesPerPartition'
    | 'maxBytesPerFetch'
    | 'maxBufferedBytes'
    | 'maxProduceRequestBytes'
    | 'fetchMaxWaitMs'
    | 'stallAfterMs'
  >
> = {
  maxBytesPerPartition: 2 * MiB,
  maxBytesPerFetch: 16 * MiB,
  maxBufferedBytes: 64 * MiB,
  maxProduceRequestBytes: 1 * MiB,
  fetchMaxWaitMs: 200,
  stallAfterMs: 120_000,
};
const RECORD_OVERHEAD = 64;
/** Reads of a topic's limit after the broker refused a record we thought within it. */
const LIMIT_REREADS = 3;
const LIMIT_REREAD_MS = 500;
/**
 * Outstanding coalesced produce requests per topic. Two keep the connection busy while the
 * next request forms; more would only split what is waiting into smaller requests.
 */
const PRODUCE_IN_FLIGHT = 2;

export class KafkaBroker implements QueueBroker {
  readonly kind = 'kafka';
  private readonly kafka: KafkaClient;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private producerConnected = false;
  private started: Promise<void> | undefined;
  /** topic (unprefixed) → the broker's effective max.message.bytes */
  private readonly limits = new Map<string, number>();
  private readonly specs = new Map<string, TopicSpec>();
  readonly monitor: ConsumerMonitor;

  private readonly ns: string;

  private readonly options: KafkaBrokerOptions & typeof KAFKA_DEFAULTS;
  private readonly coalescer: ProduceCoalescer<kafkajs.Message>;

  constructor(options: KafkaBrokerOptions) {
    this.options = { ...KAFKA_DEFAULTS, ...stripUndefined(options) };
    this.coalescer = new ProduceCoalescer<kafkajs.Message>({
      maxInFlight: PRODUCE_IN_FLIGHT,
      budgetBytes: this.options.maxProduceRequestBytes,
      isPermanent: (err) => classifyProduceError(err).permanent,
      send: async (topic, messages) => {
        if (!this.producer) throw new RetryableError('kafka producer is not started');
        await this.producer.send({
          topic,
          acks: -1,
          timeout: this.options.requestTimeoutMs,
          messages,
        });
      },
    });
    this.ns = options.namespace ?? '';
    this.monitor = new ConsumerMonitor(this.options.stallAfterMs);
    const toLog: logCreator =
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        const text = `${message} ${JSON.stringify(extra)}`;
        if (level === logLevel.ERROR) options.log('error', text);
        else if (level === logLevel.WARN) options.log('warn', text);
      };
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      requestTimeout: options.requestTimeoutMs,
      connectionTimeout: Math.min(10_000, options.requestTimeoutMs),
      logLevel: logLevel.WARN,
      logCreator: toLog,
      retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 5_000 },
    });
  }

  start(topics: TopicSpec[]): Promise<void> {
    this.started ??= this.doStart(topics).catch((err) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  private async doStart(topics: TopicSpec[]): Promise<void> {
    for (const t of topics) this.specs.set(t.name, t);
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(this.ns + t.name));
    if (missing.length > 0) {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: this.ns + t.name,
          numPartitions: t.partitions,
          replicationFactor: -1, // the broker's default.replication.factor
          configEntries: [
            { name: 'max.message.bytes', value: String(t.maxMessageBytes) },
            ...(t.retentionMs > 0 ? [{ name: 'retention.ms', value: String(t.retentionMs) }] : []),
          ],
        })),
      });
    }
    // Topics that existed already keep their partitions; raise the message limit if ours grew.
    const present = topics.filter((t) => existing.has(this.ns + t.name));
    if (present.length > 0) {
      await this.admin
        .alterConfigs({
          validateOnly: false,
          resources: present.map((t) => ({
            type: 2, // ConfigResourceTypes.TOPIC
            name: this.ns + t.name,
            configEntries: [{ name: 'max.message.bytes', value: String(t.maxMessageBytes) }],
          })),
        })
        .catch((err: unknown) =>
          this.options.log(
            'warn',
            `could not raise max.message.bytes of existing topics (${describe(err)}); using the limits the broker reports`,
          ),
        );
    }
    await this.refreshLimits(topics.map((t) => t.name));
    this.producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: false,
      maxInFlightRequests: 5,
    });
    this.producer.on(this.producer.events.DISCONNECT, () => (this.producerConnected = false));
    this.producer.on(this.producer.events.CONNECT, () => (this.producerConnected = true));
    await this.producer.connect();
    this.producerConnected = true;
  }

  /** Reads each topic's effective max.message.bytes from the broker. */
  private async refreshLimits(topics: readonly string[]): Promise<void> {
    // kafkajs refuses a describeConfigs of no resources
    if (!this.admin || topics.length === 0) return;
    const r = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((t) => ({
        type: 2,
        name: this.ns + t,
        configNames: ['max.message.bytes'],
      })),
    });
    for (const res of r.resources) {
      const entry = res.configEntries.find((e) => e.configName === 'max.message.bytes');
      const value = Number(entry?.configValue);
      const name = res.resourceName.slice(this.ns.length);
      if (Number.isFinite(value) && value > 0) this.limits.set(name, value);
    }
  }

  /**
   * Whether the broker's limit for `topic` is now below `before` records bytes. Read a few times
   * over about a second: a lowered max.message.bytes can reach the partition's log before the
   * configuration the broker describes, and an answer of "too large" for a record within the
   * limit we know is that window far more often than a wrong estimate of the record's size.
   */
  private async limitLowered(topic: string, before: number): Promise<boolean> {
    for (let attempt = 0; attempt < LIMIT_REREADS; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, LIMIT_REREAD_MS));
      await this.refreshLimits([topic]).catch(() => {});
      if (this.maxRecordBytes(topic) < before) return true;
    }
    return false;
  }

  maxRecordBytes(topic: string): number {
    const limit = this.limits.get(topic) ?? this.specs.get(topic)?.maxMessageBytes ?? 1_048_588;
    return Math.max(1024, limit - BATCH_OVERHEAD);
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (!this.producer) throw new RetryableError('kafka producer is not started');
    if (messages.length === 0) return;
    const limit = this.maxRecordBytes(topic);
    const requestBudget = Math.min(limit, this.options.maxProduceRequestBytes);
    // Requests in message order, each within the budget: per key, order is kept.
    const chunks: OutgoingMessage[][] = [];
    const chunkBytes: number[] = [];
    let cur: OutgoingMessage[] = [];
    let size = 0;
    for (const m of messages) {
      const n = letterBytes(m) + RECORD_OVERHEAD;
      if (n > limit) {
        throw new PermanentError(
          `a record of ${n} bytes exceeds the limit of ${topic} (${limit} bytes of records per batch, max.message.bytes ${limit + BATCH_OVERHEAD})`,
          'message_too_large',
        );
      }
      if (cur.length > 0 && size + n > requestBudget) {
        chunks.push(cur);
        chunkBytes.push(size);
        cur = [];
        size = 0;
      }
      cur.push(m);
      size += n;
    }
    if (cur.length > 0) {
      chunks.push(cur);
      chunkBytes.push(size);
    }
    // Requests of the same budget, within the topic's limit: a coalesced request of several
    // publishes never exceeds what each would have been allowed alone.
    for (const [i, chunk] of chunks.entries()) {
      try {
        await this.coalescer.publish(
          this.ns + topic,
          chunk.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
          chunkBytes[i],
          requestBudget,
        );
      } catch (err) {
        const c = classifyProduceError(err);
        if (c.permanent) {
          if (c.tooLarge) {
            // The broker's limit may have been lowered since we read it: read it again, so the
            // caller's retry (it re-splits to maxRecordBytes) can succeed.
            const before = this.maxRecordBytes(topic);
            if (await this.limitLowered(topic, before)) {
              throw new RetryableError(
                `${topic} refused a record as too large: its limit is now ${this.maxRecordBytes(topic)} bytes (was ${before}); retrying within it`,
                undefined,
                { cause: err },
              );
            }
          }
          throw new PermanentError(
            `kafka refused the write to ${topic} for good (${c.type}): ${describe(err)}`,
            c.reason,
            { cause: err },
          );
        }
        throw new RetryableError(
          `kafka did not acknowledge the write to ${topic}: ${describe(err)}`,
          undefined,
          { cause: err },
        );
      }
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: this.ns + options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.max(1000, Math.floor(this.options.sessionTimeoutMs / 10)),
      maxBytesPerPartition: this.options.maxBytesPerPartition,
      maxBytes: this.options.maxBytesPerFetch,
      maxWaitTimeInMs: this.options.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000 },
    });
    const sub = new KafkaSubscription(this, consumer, options, this.ns, this.options);
    await sub.start();
    this.subscriptions.add(sub);
    return {
      close: async () => {
        if (!this.subscriptions.delete(sub)) return;
        await sub.close();
      },
    };
  }

  consumerStatus(): PartitionStatus[] {
    return this.monitor.snapshot();
  }

  /** committed and end offsets of a group's partitions, for lag */
  async groupLag(groupId: string, topic: string): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const p of await this.groupOffsets(groupId, topic)) out.set(p.partition, p.lag);
    return out;
  }

  async groupBacklog(groupId: string, topic: string): Promise<GroupBacklog> {
    if (!this.admin) throw new RetryableError('kafka not started');
    let lag = 0;
    let consumed = 0;
    for (const p of await this.groupOffsets(groupId, topic)) {
      lag += p.lag;
      consumed += p.position;
    }
    return { lag, consumed };
  }

  /** Per partition: the group's position (committed, else the log start) and its lag. */
  private async groupOffsets(
    groupId: string,
    topic: string,
  ): Promise<{ partition: number; position: number; lag: number }[]> {
    if (!this.admin) return [];
    const [ends, committed] = await Promise.all([
      this.admin.fetchTopicOffsets(this.ns + topic),
      this.admin.fetchOffsets({ groupId: this.ns + groupId, topics: [this.ns + topic] }),
    ]);
    const done = new Map<number, bigint>();
    for (const t of committed)
      for (const p of t.partitions) done.set(p.partition, BigInt(p.offset));
    return ends.map((e) => {
      const c = done.get(e.partition) ?? -1n;
      const from = c >= 0n ? c : BigInt(e.low);
      return { partition: e.partition, position: Number(from), lag: Number(BigInt(e.high) - from) };
    });
  }

  async health(): Promise<QueueHealth> {
    if (!this.admin || !this.producer) return { ok: false, detail: 'kafka not started' };
    try {
      const t0 = Date.now();
      await withTimeout(this.admin.describeCluster(), 3_000);
      return {
        ok: this.producerConnected,
        detail: `kafka ${this.options.brokers.join(',')} answered in ${Date.now() - t0} ms`,
      };
    } catch (err) {
      return { ok: false, detail: `kafka unreachable: ${describe(err)}` };
    }
  }

  async close(): Promise<void> {
    const subs = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.allSettled(subs.map((s) => s.close()));
    await Promise.allSettled([this.producer?.disconnect(), this.admin?.disconnect()]);
    this.producer = undefined;
    this.admin = undefined;
    this.started = undefined;
  }
}

/** One partition's buffer and worker loop, for one generation of the group. */
interface PartitionWorker {
  partition: number;
  buffer: IncomingMessage[];
  bytes: number;
  paused: boolean;
  active: boolean;
  /** the partition's end offset as last fetched */
  highWatermark: bigint;
  /** ends a wait for messages or a backoff */
  wake: () => void;
  stop: AbortController;
  done: Promise<void>;
}

class KafkaSubscription {
  private readonly workers = new Map<number, PartitionWorker>();
  /** per partition, the last worker's loop: a new worker starts after the old one finished */
  private readonly previous = new Map<number, Promise<void>>();
  private readonly failures = new Map<number, Map<string, FailureRecord>>();
  private assignedCount = 1;
  private bufferedBytes = 0;
  private closing = false;
  private lagTimer: NodeJS.Timeout | undefined;
  private readonly policy;
  private readonly topic: string;

  constructor(
    private readonly broker: KafkaBroker,
    private readonly consumer: Consumer,
    private readonly options: SubscribeOptions,
    private readonly ns: string,
    private readonly settings: KafkaBrokerOptions & typeof KAFKA_DEFAULTS,
  ) {
    this.policy = retryPolicy(options.retry);
    this.topic = options.topic;
  }

  async start(): Promise<void> {
    const { consumer } = this;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = e.payload.memberAssignment[this.ns + this.topic] ?? [];
      this.retireAll();
      this.assignedCount = Math.max(1, assigned.length);
      this.broker.monitor.assigned(this.options.groupId, this.topic, assigned);
      // Pause state outlives a rebalance in kafkajs; the buffers did not, so fetch again.
      if (assigned.length > 0)
        consumer.resume([{ topic: this.ns + this.topic, partitions: [...assigned] }]);
    });
    // kafkajs restarts a consumer that crashed on a retriable error, and leaves one that crashed
    // on any other (a protocol error while the broker comes back, say) stopped for good: its
    // partitions would never be consumed again while the process looked alive. Run it again.
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.closing) return;
      this.settings.log(
        'error',
        `consumer of ${this.topic} (${this.options.groupId}) stopped: ${e.payload.error.message}; running it again`,
      );
      this.revive(1000);
    });
    await this.run();
    this.lagTimer = setInterval(() => void this.pollLag(), this.settings.lagPollMs ?? 10_000);
    this.lagTimer.unref();
  }

  /** Connects, subscribes and runs the consumer again after `delayMs`, until it runs or closes. */
  private revive(delayMs: number): void {
    const timer = setTimeout(() => {
      if (this.closing) return;
      this.run().catch((err: unknown) => {
        this.settings.log(
          'warn',
          `consumer of ${this.topic} (${this.options.groupId}) not running yet: ${(err as Error).message}`,
        );
        void this.consumer.disconnect().catch(() => {});
        this.revive(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
    timer.unref();
  }

  private async run(): Promise<void> {
    const { consumer } = this;
    await consumer.connect();
    await consumer.subscribe({ topic: this.ns + this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      // Hands the batch to its partition's worker and returns: the fetch loop never waits for
      // processing. Resolving (auto) advances the fetch position; commits are the worker's.
      eachBatch: async ({ batch, isStale }) => {
        if (this.closing || isStale()) return;
        const w = this.worker(batch.partition);
        for (const m of batch.messages) {
          const msg = toIncoming(this.topic, batch.partition, m);
          w.buffer.push(msg);
          w.bytes += msg.value.length;
          this.bufferedBytes += msg.value.length;
        }
        w.highWatermark = BigInt(batch.highWatermark);
        this.broker.monitor.lag(
          this.options.groupId,
          this.topic,
          batch.partition,
          Number(w.highWatermark - BigInt(batch.messages[0]?.offset ?? batch.highWatermark)),
        );
        this.flowControl();
        w.wake();
      },
    });
  }

  private worker(partition: number): PartitionWorker {
    const existing = this.workers.get(partition);
    if (existing) return existing;
    let wakeUp: () => void = () => {};
    const w: PartitionWorker = {
      partition,
      buffer: [],
      bytes: 0,
      paused: false,
      active: true,
      highWatermark: 0n,
      wake: () => wakeUp(),
      stop: new AbortController(),
      done: Promise.resolve(),
    };
    const before = this.previous.get(partition) ?? Promise.resolve();
    w.done = before.then(() =>
      this.workerLoop(w, (r) => {
        wakeUp = r;
      }),
    );
    this.previous.set(partition, w.done);
    this.workers.set(partition, w);
    return w;
  }

  private async workerLoop(w: PartitionWorker, onWait: (wake: () => void) => void): Promise<void> {
    let failures = this.failures.get(w.partition);
    if (!failures) this.failures.set(w.partition, (failures = new Map()));
    const group = this.options.groupId;
    const driver: SliceDriver = {
      group,
      topic: this.topic,
      partition: w.partition,
      handler: this.options.handler,
      policy: this.policy,
      deadLetterTopic: this.options.deadLetterTopic,
      monitor: this.broker.monitor,
      failures,
      isActive: () => w.active && !this.closing,
      commit: (last) => this.commit(w, last),
      publish: (t, ms) => this.broker.publish(t, ms),
      sleep: (ms) => sleep(ms, w.stop.signal),
      heartbeat: async () => {},
      log: (level, message) => this.settings.log(level, message),
      onRetry: () => this.settings.onRetry?.(group, this.topic),
      onDeadLetter: (reason) => this.settings.onDeadLetter?.(group, this.topic, reason),
    };
    const maxBatchBytes = this.options.maxBatchBytes ?? Infinity;
    while (w.active && !this.closing) {
      if (w.buffer.length === 0) {
        await new Promise<void>((resolve) => {
          onWait(resolve);
          if (!w.active || w.buffer.length > 0) resolve();
        });
        continue;
      }
      let n = 0;
      let bytes = 0;
      while (n < w.buffer.length && n < this.options.maxBatchSize) {
        const size = w.buffer[n].value.length;
        if (n > 0 && bytes + size > maxBatchBytes) break;
        bytes += size;
        n++;
      }
      const slice = w.buffer.slice(0, n);
      let ok: boolean;
      try {
        ok = await runSlice(slice, driver);
      } catch (err) {
        // The commit failed for good (the group moved on, or the coordinator is gone): what this
        // worker did is redone from the committed offset by whoever owns the partition now.
        this.settings.log(
          'warn',
          `${this.topic}[${w.partition}]: commit failed (${describe(err)}); the partition restarts from its last committed offset`,
        );
        this.restart(w, slice[0].offset);
        return;
      }
      if (!ok) return;
      if (!w.active) return;
      w.buffer.splice(0, n);
      w.bytes -= bytes;
      this.bufferedBytes -= bytes;
      this.flowControl();
    }
  }

  private async commit(w: PartitionWorker, lastOffset: string): Promise<void> {
    const next = BigInt(lastOffset) + 1n;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.consumer.commitOffsets([
          { topic: this.ns + this.topic, partition: w.partition, offset: next.toString() },
        ]);
        break;
      } catch (err) {
        if (attempt >= 4 || !w.active || this.closing) throw err;
        await sleep(backoffMs(attempt, 200, 3_000), w.stop.signal);
      }
    }
    const lag = w.highWatermark > next ? Number(w.highWatermark - next) : 0;
    this.broker.monitor.committed(this.options.groupId, this.topic, w.partition, lag);
  }

  /** A worker that could not commit: drop its buffer and fetch again from `offset`. */
  private restart(w: PartitionWorker, offset: string): void {
    this.retire(w);
    try {
      this.consumer.seek({ topic: this.ns + this.topic, partition: w.partition, offset });
    } catch (err) {
      this.settings.log('warn', `${this.topic}[${w.partition}]: seek failed: ${describe(err)}`);
    }
  }

  private retire(w: PartitionWorker): void {
    if (!w.active) return;
    w.active = false;
    w.stop.abort();
    w.wake();
    this.bufferedBytes -= w.bytes;
    w.buffer = [];
    w.bytes = 0;
    if (this.workers.get(w.partition) === w) this.workers.delete(w.partition);
    if (w.paused) {
      w.paused = false;
      this.consumer.resume([{ topic: this.ns + this.topic, partitions: [w.partition] }]);
    }
  }

  private retireAll(): void {
    for (const w of [...this.workers.values()]) this.retire(w);
    this.failures.clear();
  }

  /**
   * Pauses the partitions over their share of the byte budget (and, when the whole budget is
   * used, every partition holding anything), resumes the ones that drained.
   */
  private flowControl(): void {
    const budget = this.settings.maxBufferedBytes;
    const share = Math.max(budget / this.assignedCount, 1);
    for (const w of this.workers.values()) {
      if (!w.active) continue;
      const full = w.bytes >= share || (this.bufferedBytes >= budget && w.bytes > 0);
      const drained = w.bytes < share / 2 && this.bufferedBytes < budget * 0.75;
      const tp = [{ topic: this.ns + this.topic, partitions: [w.partition] }];
      if (full && !w.paused) {
        w.paused = true;
        this.consumer.pause(tp);
      } else if (w.paused && drained) {
        w.paused = false;
        this.consumer.resume(tp);
      }
    }
  }

  private async pollLag(): Promise<void> {
    try {
      const lag = await this.broker.groupLag(this.options.groupId, this.topic);
      for (const [partition, n] of lag) {
        this.broker.monitor.lag(this.options.groupId, this.topic, partition, n);
      }
    } catch {
      // the broker is away: the last known lag stands, and the stall clock keeps running
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.lagTimer);
    const running = [...this.workers.values()];
    for (const w of running) {
      w.stop.abort();
      w.wake();
    }
    // In-flight slices finish (without committing) or are cut off by the shutdown timeout.
    await Promise.allSettled([...this.previous.values()]);
    for (const w of running) this.retire(w);
    await this.consumer.disconnect().catch(() => {});
    this.broker.monitor.released(this.options.groupId, this.topic);
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function toIncoming(topic: string, partition: number, m: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ?? Buffer.alloc(0),
    headers: headersToStrings(m.headers),
    timestamp: Number(m.timestamp),
  };
}

function headersToStrings(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
