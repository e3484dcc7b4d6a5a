import { createHash } from 'node:crypto';
import type {
  IncomingMessage,
  MessageBatch,
  OutgoingMessage,
  QueueBroker,
  QueueHealth,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../queue.port.js';
import { RetryableError, backoffMs } from '../../model/index.js';

// The in-process stand-in for Kafka, used by the embedded default (`npm start` with no brokers)
// and by unit tests. Same contract as the Kafka broker (queue.contract.ts), minus durability:
// what it holds is lost with the process, which is why boot warns about it.
//
// Bounded: it holds at most `maxBytes` of message values that some subscribed group has not
// committed yet; a publish that would exceed it is refused with a RetryableError (ingest turns
// that into 503, so agents retry), never buffered beyond the bound.

interface Partition {
  /** messages[0] has offset `base` */
  base: number;
  messages: IncomingMessage[];
  bytes: number;
}

interface Topic {
  spec: TopicSpec;
  partitions: Partition[];
  /** groupId → committed offset per partition */
  committed: Map<string, number[]>;
}

interface Consumer {
  options: SubscribeOptions;
  running: boolean;
  /** partitions being worked on */
  loops: Promise<void>[];
  wake: () => void;
}

export interface MemoryBrokerOptions {
  maxBytes: number;
  /** backoff base for handler retries */
  retryBaseMs?: number;
  /** how long close() waits for running handlers */
  drainTimeoutMs?: number;
}

export class MemoryBroker implements QueueBroker {
  readonly kind = 'memory';
  private readonly topics = new Map<string, Topic>();
  private readonly consumers = new Set<Consumer>();
  private heldBytes = 0;
  private closed = false;

  constructor(private readonly options: MemoryBrokerOptions) {}

  async start(topics: TopicSpec[]): Promise<void> {
    this.closed = false;
    for (const spec of topics) {
      if (this.topics.has(spec.name)) continue;
      const partitions: Partition[] = [];
      for (let i = 0; i < spec.partitions; i++)
        partitions.push({ base: 0, messages: [], bytes: 0 });
      this.topics.set(spec.name, { spec, partitions, committed: new Map() });
    }
  }

  async publish(topicName: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new RetryableError('in-process queue is closed');
    const topic = this.topic(topicName);
    let total = 0;
    for (const m of messages) {
      if (m.value.length > topic.spec.maxMessageBytes) {
        throw new RetryableError(
          `message of ${m.value.length} bytes exceeds the topic limit of ${topic.spec.maxMessageBytes}`,
        );
      }
      total += m.value.length;
    }
    if (this.heldBytes + total > this.options.maxBytes) {
      throw new RetryableError(
        `in-process queue is full (${this.heldBytes} of ${this.options.maxBytes} bytes held)`,
      );
    }
    const now = Date.now();
    for (const m of messages) {
      const p = topic.partitions[this.partitionFor(m.key, topic.partitions.length)];
      const offset = p.base + p.messages.length;
      p.messages.push({
        topic: topicName,
        partition: topic.partitions.indexOf(p),
        offset: String(offset),
        key: m.key,
        value: m.value,
        headers: { ...m.headers },
        timestamp: now,
      });
      p.bytes += m.value.length;
    }
    this.heldBytes += total;
    for (const c of this.consumers) if (c.options.topic === topicName) c.wake();
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const topic = this.topic(options.topic);
    if (!topic.committed.has(options.groupId)) {
      topic.committed.set(
        options.groupId,
        topic.partitions.map((p) => p.base),
      );
    }
    let wakeUp: () => void = () => {};
    const consumer: Consumer = {
      options,
      running: true,
      loops: [],
      wake: () => wakeUp(),
    };
    const signals = topic.partitions.map(() => ({ resolve: () => {} }));
    wakeUp = () => signals.forEach((s) => s.resolve());
    this.consumers.add(consumer);
    consumer.loops = topic.partitions.map((_, i) =>
      this.partitionLoop(topic, i, consumer, (r) => (signals[i].resolve = r)),
    );
    return {
      close: async () => {
        if (!consumer.running) return;
        consumer.running = false;
        consumer.wake();
        await Promise.all(consumer.loops);
        this.consumers.delete(consumer);
      },
    };
  }

  private async partitionLoop(
    topic: Topic,
    index: number,
    consumer: Consumer,
    onWait: (resolve: () => void) => void,
  ): Promise<void> {
    const { groupId, handler, maxBatchSize } = consumer.options;
    const p = topic.partitions[index];
    let attempt = 0;
    while (consumer.running) {
      const committed = topic.committed.get(groupId)![index];
      const from = committed - p.base;
      if (from >= p.messages.length) {
        await new Promise<void>((resolve) => onWait(resolve));
        continue;
      }
      const messages = p.messages.slice(from, from + maxBatchSize);
      const batch: MessageBatch = {
        topic: topic.spec.name,
        partition: index,
        messages,
        heartbeat: async () => {},
      };
      try {
        await handler(batch);
        attempt = 0;
        topic.committed.get(groupId)![index] = committed + messages.length;
        this.trim(topic, index);
      } catch (err) {
        // At-least-once: the same batch comes again after a backoff.
        void err;
        const wait = backoffMs(attempt++, this.options.retryBaseMs ?? 100, 5_000);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Drops messages every known group has committed, releasing their bytes. */
  private trim(topic: Topic, index: number): void {
    const p = topic.partitions[index];
    let min = Infinity;
    for (const offsets of topic.committed.values()) min = Math.min(min, offsets[index]);
    const drop = Math.min(min - p.base, p.messages.length);
    if (drop <= 0) return;
    let freed = 0;
    for (let i = 0; i < drop; i++) freed += p.messages[i].value.length;
    p.messages.splice(0, drop);
    p.base += drop;
    p.bytes -= freed;
    this.heldBytes -= freed;
  }

  async health(): Promise<QueueHealth> {
    return {
      ok: !this.closed,
      detail: `in-process queue, ${this.heldBytes} of ${this.options.maxBytes} bytes held`,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.consumers];
    for (const c of all) {
      c.running = false;
      c.wake();
    }
    // A handler still running gets a bounded grace period; its batch stays uncommitted.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all.flatMap((c) => c.loops)),
      new Promise((r) => (timer = setTimeout(r, this.options.drainTimeoutMs ?? 5_000))),
    ]);
    clearTimeout(timer);
    this.consumers.clear();
  }

  /** bytes held and not yet committed by every group; for metrics and tests */
  get bytesHeld(): number {
    return this.heldBytes;
  }

  private topic(name: string): Topic {
    const t = this.topics.get(name);
    if (!t)
      throw new RetryableError(`unknown topic ${name}: start() the broker with its spec first`);
    return t;
  }

  private partitionFor(key: string | null, n: number): number {
    if (n === 1) return 0;
    if (key === null) return Math.floor(Math.random() * n);
    return createHash('md5').update(key).digest().readUInt32BE(0) % n;
  }
}
