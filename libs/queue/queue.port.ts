// The queue port: what the pipeline needs from Kafka, and what the in-process stand-in must
// honour too. Both implementations pass the same contract suite (queue.contract.ts).
//
// Delivery contract:
// - `publish` resolves only once the broker holds every message (Kafka: acks from all in-sync
//   replicas). It splits the messages into produce requests that fit the topic's limit. It
//   rejects with a PermanentError when a message can never be accepted (larger than the topic's
//   record limit, refused by the broker as invalid or corrupt: retrying would fail the same
//   way), and with a RetryableError when the broker is unavailable; in both cases nothing is
//   promised about the messages of that call (some may have been written).
// - A subscription hands a handler batches from one partition, in offset order; partitions are
//   processed independently, so a slow or failing partition delays only its own offsets.
//   Offsets are committed only after the handler resolved (consumer/slice-runner.ts):
//   - a handler that throws is retried with backoff; after `isolateAfter` failed attempts the
//     batch is retried one message at a time, so one bad message cannot hold back the others;
//   - a single message whose handler throws a PermanentError, or that keeps failing for longer
//     than the retry budget, is published to `deadLetterTopic` with the reason and attempt count
//     and committed; a handler that wants finer control dead-letters messages itself.
// - After a crash the uncommitted messages are delivered again, so handlers must be idempotent.

export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /**
   * In-process only: what `value` decodes to (e.g. the profile a normalised record's pprof
   * encodes), handed as is to a consumer in this process so that it need not decode `value`
   * again. Only a broker whose `localPayloads` is true delivers it; consumers must reach the
   * same result with or without it.
   */
  local?: LocalPayload;
}

/** An object travelling beside a message inside one process (see OutgoingMessage.local). */
export interface LocalPayload {
  value: unknown;
  /** memory it holds, counted by the in-process queue against its budget */
  bytes: number;
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
  /** the producer's OutgoingMessage.local, when the broker hands such payloads over */
  local?: LocalPayload;
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
  /**
   * A dead-letter topic: nothing consumes it but replay. The in-process queue keeps these apart
   * from the live queue's byte budget (in its dead-letter store).
   */
  deadLetter?: boolean;
  /**
   * The pipeline's entry topic (raw uploads): the in-process queue admits its publishes only up
   * to a quarter of its byte budget, so the stages after it always find room for their output
   * and can release their input (one budget for all topics could otherwise fill with input that
   * cannot move on), and what waits to be decoded stays a few seconds of work.
   */
  entry?: boolean;
}

/** How a subscription retries a failing handler (consumer/retry-policy.ts). */
export interface RetryPolicy {
  /** failed attempts of a multi-message batch before its messages are retried one by one */
  isolateAfter: number;
  /** a message that keeps failing for this long (and minAttempts times) is dead-lettered */
  budgetMs: number;
  minAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface SubscribeOptions {
  groupId: string;
  topic: string;
  handler: BatchHandler;
  /** at most this many messages per handler call */
  maxBatchSize: number;
  /** at most this many value bytes per handler call (a single larger message still goes alone) */
  maxBatchBytes?: number;
  /** where messages that are permanently refused or exhaust their retry budget go */
  deadLetterTopic?: string;
  /** defaults: DEFAULT_RETRY_POLICY */
  retry?: Partial<RetryPolicy>;
}

/** One consumed partition as this process sees it (for /readyz and /metrics). */
export interface PartitionStatus {
  group: string;
  topic: string;
  partition: number;
  /** messages behind the end of the partition; null until known */
  lag: number | null;
  /** ms since epoch of the last commit; null when none yet in this process */
  lastCommitAt: number | null;
  /** when this process started owning the partition */
  assignedAt: number;
  /** failed attempts of the work in hand (0 when the last attempt succeeded) */
  attempts: number;
  lastError: string | null;
  /** lag > 0 and no commit for longer than the stall timeout */
  stalled: boolean;
}

export interface Subscription {
  close(): Promise<void>;
}

/** How far a consumer group is behind on a topic, summed over its partitions. */
export interface GroupBacklog {
  /** messages published and not yet committed by the group */
  lag: number;
  /**
   * messages the group has committed, counted from a fixed origin per partition: only its
   * changes mean anything (their rate is how fast the group drains the topic)
   */
  consumed: number;
}

export interface QueueHealth {
  ok: boolean;
  detail: string;
}

export interface QueueBroker {
  /** a short name for logs and metrics: 'kafka' | 'memory' */
  readonly kind: string;
  /** true when consumers receive OutgoingMessage.local (the in-process queue) */
  readonly localPayloads?: boolean;
  /** Connects and creates missing topics. Safe to call twice. */
  start(topics: TopicSpec[]): Promise<void>;
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /**
   * The largest record (key + value + headers) `publish` accepts for a topic: the broker's
   * effective limit for it, as read at start and after a broker refused a record as too large.
   */
  maxRecordBytes(topic: string): number;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** every partition this process consumes, with lag, commits and stall state */
  consumerStatus(): PartitionStatus[];
  /**
   * A group's backlog on a topic as the broker holds it, whichever process consumes it (ingest
   * reads it to stop admitting uploads while the pipeline is behind). A group that has never
   * committed counts from the start of what the topic holds. Rejects when the broker is away.
   */
  groupBacklog(groupId: string, topic: string): Promise<GroupBacklog>;
  health(): Promise<QueueHealth>;
  /** Stops consumers (uncommitted work is redelivered later), then producers. Safe twice. */
  close(): Promise<void>;
}

export const QUEUE_BROKER = Symbol('QUEUE_BROKER');
