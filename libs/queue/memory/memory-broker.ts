import { createHash } from 'node:crypto';
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
import { PermanentError, RetryableError } from '../../model/index.js';
import { fromDeadLetter } from '../contracts/dead-letter.js';
import { ConsumerMonitor } from '../consumer/consumer-monitor.js';
import { retryPolicy, type FailureRecord } from '../consumer/retry-policy.js';
import { runSlice } from '../consumer/slice-runner.js';
import { sleep } from '../consumer/abortable-sleep.js';
import {
  MemoryDeadLetterSink,
  letterBytes,
  type DeadLetterSink,
} from '../dead-letters/dead-letter-sink.js';

// The in-process stand-in for Kafka, used by the embedded default (`npm start` with no brokers)
// and by unit tests. Same contract as the Kafka broker (queue.contract.ts), minus durability:
// what it holds is lost with the process, which is why boot warns about it.
//
// Bounded: it holds at most `maxBytes` of message values that some subscribed group has not
// committed yet; a publish that would exceed it is refused with a RetryableError (ingest turns
// that into 503, so agents retry), never buffered beyond the bound. Dead-letter topics are not
// held here: they go to the dead-letter sink (SQLite in the data dir on embedded defaults), so
// dead letters never take budget from live traffic. Each partition of each group runs its own
// loop, so one failing partition never holds back another.

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
  /** ends every backoff wait early when the consumer stops */
  stopSignal: AbortController;
}

export interface MemoryBrokerOptions {
  maxBytes: number;
  /** backoff base for handler retries (tests shorten it) */
  retryBaseMs?: number;
  /** how long close() waits for running handlers */
  drainTimeoutMs?: number;
  /** where dead-letter topics go; default: an in-memory sink of 64 MiB */
  deadLetters?: DeadLetterSink;
  /** how often marked replays are taken back from the sink */
  replayPollMs?: number;
  /** stall timeout of the consumer monitor */
  stallAfterMs?: number;
  /**
   * How long a publish that does not fit waits for the consumers to free room before it is
   * refused (default 1 s; 0: refuse at once). Kafka's producer blocks the same way when its
   * buffer is full (`max.block.ms`). Admission reserves an upload's body before it is read, but
   * the decoded payload riding beside an earlier message (`local`) takes room it did not
   * reserve, so under a burst a publish can find the queue briefly full; the in-process decoder
   * frees it within milliseconds.
   */
  publishWaitMs?: number;
  /**
   * What holding one message costs besides its bytes (MESSAGE_OVERHEAD_BYTES by default): the
   * unit tests of exact byte counts set 0.
   */
  messageOverheadBytes?: number;
  log?: (level: 'error' | 'warn' | 'info', message: string) => void;
  /** counters for /metrics */
  onRetry?: (group: string, topic: string) => void;
  onDeadLetter?: (group: string, topic: string, reason: string) => void;
}

/**
 * The heap a held message takes beyond the bytes of its key, value and headers: the message and
 * headers objects, the value's Buffer object and string headers (measured on Node 20: 1,343 B
 * held for a normalised record of 746 B). Without it, the 10,000 records of one Push of tiny
 * profiles were charged a third of what they held.
 */
export const MESSAGE_OVERHEAD_BYTES = 640;

export class MemoryBroker implements QueueBroker {
  readonly kind = 'memory';
  readonly localPayloads = true;
  private readonly topics = new Map<string, Topic>();
  private readonly consumers = new Set<Consumer>();
  private heldBytes = 0;
  /** publishes waiting for room, woken whenever bytes are freed */
  private roomWaiters: (() => void)[] = [];
  private closed = false;
  readonly deadLetters: DeadLetterSink;
  private readonly monitor: ConsumerMonitor;
  private replayTimer: NodeJS.Timeout | undefined;

  private readonly overhead: number;

  constructor(private readonly options: MemoryBrokerOptions) {
    this.deadLetters = options.deadLetters ?? new MemoryDeadLetterSink(64 * 1024 * 1024);
    this.monitor = new ConsumerMonitor(options.stallAfterMs ?? 120_000);
    this.overhead = options.messageOverheadBytes ?? MESSAGE_OVERHEAD_BYTES;
  }

  /**
   * What a held message costs the budget: its bytes (key, value, headers), the objects holding
   * them, and what travels beside it in memory.
   */
  private heldCost(m: IncomingMessage): number {
    return letterBytes(m) + this.overhead + (m.local?.bytes ?? 0);
  }

  async start(topics: TopicSpec[]): Promise<void> {
    this.closed = false;
    for (const spec of topics) {
      if (this.topics.has(spec.name)) continue;
      const partitions: Partition[] = [];
      for (let i = 0; i < spec.partitions; i++)
        partitions.push({ base: 0, messages: [], bytes: 0 });
      this.topics.set(spec.name, { spec, partitions, committed: new Map() });
    }
    if (!this.replayTimer) {
      this.replayTimer = setInterval(() => this.takeReplays(), this.options.replayPollMs ?? 2_000);
      this.replayTimer.unref();
    }
  }

  maxRecordBytes(topic: string): number {
    return this.topic(topic).spec.maxMessageBytes;
  }

  async publish(topicName: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new RetryableError('in-process queue is closed');
    const topic = this.topic(topicName);
    let total = 0;
    for (const m of messages) {
      const size = letterBytes(m);
      if (size > topic.spec.maxMessageBytes) {
        throw new PermanentError(
          `a message of ${size} bytes exceeds the limit of ${topicName} (${topic.spec.maxMessageBytes} bytes)`,
          'message_too_large',
        );
      }
      total += size + this.overhead;
    }
    if (topic.spec.deadLetter) {
      this.deadLetters.append(topicName, messages);
      return;
    }
    let room = this.roomFor(topicName);
    if (total > room) room = await this.waitForRoom(topicName, total);
    if (this.closed) throw new RetryableError('in-process queue is closed');
    // A publish larger than the whole bound (one decoded upload of very many series) is taken
    // once nothing else is held: refused, it would be retried forever and stall its partition.
    // The stage that publishes bounds what one publish holds (the decoder's waves).
    if (total > room && this.heldBytes === 0) room = total;
    if (total > room) {
      throw new RetryableError(
        `in-process queue is full (${this.heldBytes} of ${this.options.maxBytes} bytes held)`,
      );
    }
    // A local payload is a saving, never a reason to refuse a message (its consumer reaches the
    // same result without it): each rides along only while the budget still holds it, so a
    // queue near full holds the messages alone instead of answering 503 for their payloads.
    const now = Date.now();
    for (const m of messages) {
      const index = this.partitionFor(m.key, topic.partitions.length);
      const p = topic.partitions[index];
      const offset = p.base + p.messages.length;
      const local = m.local && total + m.local.bytes <= room ? m.local : undefined;
      if (local) total += local.bytes;
      const held: IncomingMessage = {
        topic: topicName,
        partition: index,
        offset: String(offset),
        key: m.key,
        value: m.value,
        headers: { ...m.headers },
        timestamp: now,
        ...(local ? { local } : {}),
      };
      p.messages.push(held);
      p.bytes += this.heldCost(held);
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
      stopSignal: new AbortController(),
    };
    const signals = topic.partitions.map(() => ({ resolve: () => {} }));
    wakeUp = () => signals.forEach((s) => s.resolve());
    this.consumers.add(consumer);
    this.monitor.assigned(
      options.groupId,
      options.topic,
      topic.partitions.map((_, i) => i),
    );
    consumer.loops = topic.partitions.map((_, i) =>
      this.partitionLoop(topic, i, consumer, (r) => (signals[i].resolve = r)),
    );
    return {
      close: async () => {
        if (!consumer.running) return;
        consumer.running = false;
        consumer.stopSignal.abort();
        consumer.wake();
        await Promise.all(consumer.loops);
        this.consumers.delete(consumer);
        this.monitor.released(options.groupId, options.topic);
      },
    };
  }

  async groupBacklog(groupId: string, topicName: string): Promise<GroupBacklog> {
    const topic = this.topic(topicName);
    const committed = topic.committed.get(groupId);
    let lag = 0;
    let consumed = 0;
    topic.partitions.forEach((p, i) => {
      const position = committed?.[i] ?? p.base;
      consumed += position;
      lag += p.base + p.messages.length - position;
    });
    return { lag, consumed };
  }

  consumerStatus(): PartitionStatus[] {
    for (const c of this.consumers) {
      const topic = this.topics.get(c.options.topic);
      if (!topic) continue;
      const committed = topic.committed.get(c.options.groupId) ?? [];
      topic.partitions.forEach((p, i) =>
        this.monitor.lag(
          c.options.groupId,
          c.options.topic,
          i,
          p.base + p.messages.length - (committed[i] ?? p.base),
        ),
      );
    }
    return this.monitor.snapshot();
  }

  private async partitionLoop(
    topic: Topic,
    index: number,
    consumer: Consumer,
    onWait: (resolve: () => void) => void,
  ): Promise<void> {
    const { groupId, handler, maxBatchSize } = consumer.options;
    const maxBatchBytes = consumer.options.maxBatchBytes ?? Infinity;
    const policy = retryPolicy({
      ...(this.options.retryBaseMs !== undefined
        ? { backoffBaseMs: this.options.retryBaseMs, backoffMaxMs: 5_000 }
        : {}),
      ...consumer.options.retry,
    });
    const p = topic.partitions[index];
    const failures = new Map<string, FailureRecord>();
    const signal = consumer.stopSignal.signal;
    const driver = {
      group: groupId,
      topic: topic.spec.name,
      partition: index,
      handler,
      policy,
      deadLetterTopic: consumer.options.deadLetterTopic,
      monitor: this.monitor,
      failures,
      isActive: () => consumer.running,
      commit: async (lastOffset: string) => {
        const next = Number(lastOffset) + 1;
        const offsets = topic.committed.get(groupId)!;
        if (next > offsets[index]) offsets[index] = next;
        this.trim(topic, index);
        this.monitor.committed(groupId, topic.spec.name, index, p.base + p.messages.length - next);
      },
      publish: (t: string, ms: OutgoingMessage[]) => this.publish(t, ms),
      sleep: (ms: number) => sleep(ms, signal),
      heartbeat: async () => {},
      log: (level: 'warn' | 'error', message: string) => this.options.log?.(level, message),
      onRetry: () => this.options.onRetry?.(groupId, topic.spec.name),
      onDeadLetter: (reason: string) =>
        this.options.onDeadLetter?.(groupId, topic.spec.name, reason),
    };
    while (consumer.running) {
      const committed = topic.committed.get(groupId)![index];
      const from = committed - p.base;
      if (from >= p.messages.length) {
        await new Promise<void>((resolve) => onWait(resolve));
        continue;
      }
      const slice: IncomingMessage[] = [];
      let bytes = 0;
      for (let i = from; i < p.messages.length && slice.length < maxBatchSize; i++) {
        const m = p.messages[i];
        if (slice.length > 0 && bytes + m.value.length > maxBatchBytes) break;
        slice.push(m);
        bytes += m.value.length;
      }
      await runSlice(slice, driver);
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
    for (let i = 0; i < drop; i++) freed += this.heldCost(p.messages[i]);
    p.messages.splice(0, drop);
    p.base += drop;
    p.bytes -= freed;
    this.heldBytes -= freed;
    if (freed > 0 && this.roomWaiters.length > 0) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Waits, up to publishWaitMs, until `bytes` fit in `topicName`; the room then (may not fit). */
  private async waitForRoom(topicName: string, bytes: number): Promise<number> {
    const deadline = Date.now() + (this.options.publishWaitMs ?? 1_000);
    let room = this.roomFor(topicName);
    while (bytes > room && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.roomWaiters.push(done);
      });
      room = this.roomFor(topicName);
    }
    return room;
  }

  /** Republishes the dead letters `npm run replay` marked, while the live budget allows. */
  private takeReplays(): void {
    if (this.closed) return;
    let batch;
    try {
      batch = this.deadLetters.pendingReplays(100);
    } catch {
      return; // the store is busy or closing; next round
    }
    const done: number[] = [];
    for (const l of batch) {
      const { topic, message } = fromDeadLetter({
        topic: l.topic,
        partition: 0,
        offset: String(l.id),
        key: l.key,
        value: l.value,
        headers: l.headers,
        timestamp: l.storedAt,
      });
      const t = this.topics.get(topic);
      if (!t || t.spec.deadLetter) {
        done.push(l.id); // its source topic is gone: nothing to put it back into
        continue;
      }
      const size = letterBytes(message) + this.overhead;
      if (this.heldBytes + size > this.options.maxBytes) break; // full: next round
      void this.publish(topic, [message]).catch(() => {});
      done.push(l.id);
    }
    if (done.length > 0) this.deadLetters.remove(done);
  }

  /**
   * Bytes a publish to this topic could add now. The entry topic may take a quarter of the
   * budget: what the stages after it publish always fits, and the backlog of raw uploads stays a
   * few seconds of work (at the default 128 MiB, 32 MiB: about 5 s of decoding on one core, for
   * pprof and JFR alike). Admission control asks it before reading a body, with the same rule
   * publish applies, so a body it admits is not refused after it was read.
   */
  roomFor(topicName: string): number {
    const topic = this.topic(topicName);
    const limit = topic.spec.entry ? this.options.maxBytes / 4 : this.options.maxBytes;
    return Math.max(0, limit - this.heldBytes);
  }

  /**
   * Waits until every live message has been committed by every subscribed group (the queue is
   * empty), or until `timeoutMs`. Shutdown calls it after ingest stopped accepting, so a clean
   * stop loses nothing. Resolves whether it drained.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.heldBytes > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return this.heldBytes === 0;
  }

  async health(): Promise<QueueHealth> {
    const dl = this.deadLetters.stats();
    return {
      ok: !this.closed,
      detail: `in-process queue, ${this.heldBytes} of ${this.options.maxBytes} bytes held; ${dl.count} dead letters (${dl.bytes} bytes)`,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.roomWaiters.splice(0)) wake();
    clearInterval(this.replayTimer);
    this.replayTimer = undefined;
    const all = [...this.consumers];
    for (const c of all) {
      c.running = false;
      c.stopSignal.abort();
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
