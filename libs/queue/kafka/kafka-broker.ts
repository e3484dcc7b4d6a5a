import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  IHeaders,
  Producer,
  Kafka as KafkaClient,
  logCreator,
} from 'kafkajs';
import type {
  IncomingMessage,
  OutgoingMessage,
  QueueBroker,
  QueueHealth,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../queue.port.js';
import { RetryableError, backoffMs } from '../../model/index.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

// The queue port on Apache Kafka through kafkajs, with batch consumption and manual commits
// (docs/adr/0004-queue-transport-and-offsets.md):
// - producer: acks = -1 (all in-sync replicas), no client-side compression (bodies are mostly
//   gzip already), the murmur2 default partitioner so keys map like the Java client's;
// - consumer: eachBatch with auto-resolve and auto-commit off; the handler sees slices of at
//   most maxBatchSize messages of one partition; after it resolves, the offset after the slice
//   is committed synchronously. A failing handler is retried in place with backoff and
//   heartbeats; if the consumer is stopping or the batch went stale (rebalance), we throw, so
//   kafkajs restarts from the last committed offset and nothing is skipped.

export interface KafkaBrokerOptions {
  brokers: string[];
  clientId: string;
  /** per request; producer send and admin calls */
  requestTimeoutMs: number;
  /** bytes fetched per partition; must be ≥ the largest message (Kafka returns at least one anyway) */
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  /**
   * Prefix for every topic and consumer group this broker touches (EMBER_NAMESPACE), so
   * several environments or test runs can share one cluster. Callers always use the unprefixed
   * contract names; the prefix is added on the way out and removed on the way in.
   */
  namespace?: string;
  log: (level: 'error' | 'warn' | 'info', message: string) => void;
}

class StopProcessing extends Error {}

export class KafkaBroker implements QueueBroker {
  readonly kind = 'kafka';
  private readonly kafka: KafkaClient;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private readonly consumers = new Set<Consumer>();
  private producerConnected = false;
  private started: Promise<void> | undefined;

  private readonly ns: string;

  constructor(private readonly options: KafkaBrokerOptions) {
    this.ns = options.namespace ?? '';
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
      await this.admin.alterConfigs({
        validateOnly: false,
        resources: present.map((t) => ({
          type: 2, // ConfigResourceTypes.TOPIC
          name: this.ns + t.name,
          configEntries: [{ name: 'max.message.bytes', value: String(t.maxMessageBytes) }],
        })),
      });
    }
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

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (!this.producer) throw new RetryableError('kafka producer is not started');
    try {
      await this.producer.send({
        topic: this.ns + topic,
        acks: -1,
        timeout: this.options.requestTimeoutMs,
        messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      });
    } catch (err) {
      throw new RetryableError(
        `kafka did not acknowledge the write to ${topic}: ${describe(err)}`,
        undefined,
        {
          cause: err,
        },
      );
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: this.ns + options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.max(1000, Math.floor(this.options.sessionTimeoutMs / 10)),
      maxBytesPerPartition: this.options.maxBytesPerPartition,
      maxBytes: Math.max(this.options.maxBytesPerPartition * 2, 64 * 1024 * 1024),
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000 },
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.ns + options.topic, fromBeginning: true });
    this.consumers.add(consumer);
    let stopping = false;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const all = batch.messages;
        for (let start = 0; start < all.length; start += options.maxBatchSize) {
          const slice = all.slice(start, start + options.maxBatchSize);
          const messages: IncomingMessage[] = slice.map((m) => ({
            topic: options.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key ? m.key.toString('utf8') : null,
            value: m.value ?? Buffer.alloc(0),
            headers: headersToStrings(m.headers),
            timestamp: Number(m.timestamp),
          }));
          for (let attempt = 0; ; attempt++) {
            if (stopping || !isRunning() || isStale())
              throw new StopProcessing('consumer stopping');
            try {
              await options.handler({
                topic: options.topic,
                partition: batch.partition,
                messages,
                heartbeat,
              });
              break;
            } catch (err) {
              const wait =
                err instanceof RetryableError && err.retryAfterMs !== undefined
                  ? err.retryAfterMs
                  : backoffMs(attempt, 200, 10_000);
              this.options.log(
                'warn',
                `handler for ${batch.topic}[${batch.partition}] failed (attempt ${attempt + 1}), retrying in ${wait} ms: ${describe(err)}`,
              );
              await sleepWithHeartbeat(wait, heartbeat);
            }
          }
          const last = slice[slice.length - 1].offset;
          resolveOffset(last);
          await consumer.commitOffsets([
            {
              topic: batch.topic,
              partition: batch.partition,
              offset: (BigInt(last) + 1n).toString(),
            },
          ]);
          await heartbeat();
        }
      },
    });
    return {
      close: async () => {
        if (!this.consumers.has(consumer)) return;
        stopping = true;
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
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
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.allSettled(consumers.map((c) => c.disconnect()));
    await Promise.allSettled([this.producer?.disconnect(), this.admin?.disconnect()]);
    this.producer = undefined;
    this.admin = undefined;
    this.started = undefined;
  }
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

async function sleepWithHeartbeat(ms: number, heartbeat: () => Promise<void>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(1000, end - Date.now())));
    await heartbeat().catch(() => {});
  }
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
