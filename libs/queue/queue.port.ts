// The queue port: what the pipeline needs from Kafka, and what the in-process stand-in must
// honour too. Both implementations pass the same contract suite (queue.contract.ts).
//
// Delivery contract:
// - `publish` resolves only once the broker holds every message (Kafka: acks from all in-sync
//   replicas); it rejects with a RetryableError when it cannot, and then nothing is promised.
// - A subscription hands a handler batches from one partition, in offset order. Offsets are
//   committed only after the handler resolved. A handler that throws a RetryableError sees the
//   same batch again after a backoff; any other throw is treated the same way (at-least-once:
//   the stage, not the queue, decides what is permanent and dead-letters it itself).
// - After a crash the uncommitted messages are delivered again, so handlers must be idempotent.

export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  /** decimal string, as Kafka offsets are int64 */
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /** broker timestamp, ms since epoch */
  timestamp: number;
}

export interface MessageBatch {
  topic: string;
  partition: number;
  messages: IncomingMessage[];
  /** keep group membership alive during long work; safe to call often */
  heartbeat(): Promise<void>;
}

export type BatchHandler = (batch: MessageBatch) => Promise<void>;

export interface TopicSpec {
  name: string;
  partitions: number;
  /** largest message the topic accepts, bytes */
  maxMessageBytes: number;
  /** retention in ms; -1 = broker default */
  retentionMs: number;
}

export interface SubscribeOptions {
  groupId: string;
  topic: string;
  handler: BatchHandler;
  /** at most this many messages per handler call */
  maxBatchSize: number;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface QueueHealth {
  ok: boolean;
  detail: string;
}

export interface QueueBroker {
  /** a short name for logs and metrics: 'kafka' | 'memory' */
  readonly kind: string;
  /** Connects and creates missing topics. Safe to call twice. */
  start(topics: TopicSpec[]): Promise<void>;
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  health(): Promise<QueueHealth>;
  /** Stops consumers (uncommitted work is redelivered later), then producers. Safe twice. */
  close(): Promise<void>;
}

export const QUEUE_BROKER = Symbol('QUEUE_BROKER');
