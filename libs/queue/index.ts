export * from './queue.port.js';
export {
  RetryableError,
  PermanentError,
  isRetryable,
  isPermanent,
  backoffMs,
} from '../model/index.js';
export * from './topics.js';
export * from './contracts/raw-upload.v1.js';
export * from './contracts/normalized-series.v1.js';
export * from './contracts/dead-letter.js';
export * from './contracts/otlp-batch.v1.js';
export * from './memory/memory-broker.js';
export * from './kafka/kafka-broker.js';
export * from './queue.transport.js';
export * from './kafka/dlq-replay.js';
export * from './consumer/consumer-monitor.js';
export * from './consumer/retry-policy.js';
export * from './dead-letters/dead-letter-sink.js';
export * from './dead-letters/sqlite-dead-letter-store.js';
