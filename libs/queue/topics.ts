import type { TopicSpec } from './queue.port.js';

// Topic names carry their contract version: a breaking change is a new topic.
export const TOPICS = {
  raw: 'profiles.raw.v1',
  rawDlq: 'profiles.raw.v1.dlq',
  normalized: 'profiles.normalized.v1',
  normalizedDlq: 'profiles.normalized.v1.dlq',
  // OTLP requests as accepted (contracts/otlp-batch.v1.ts), one topic per signal
  traces: 'otlp.traces.v1',
  tracesDlq: 'otlp.traces.v1.dlq',
  metrics: 'otlp.metrics.v1',
  metricsDlq: 'otlp.metrics.v1.dlq',
  logs: 'otlp.logs.v1',
  logsDlq: 'otlp.logs.v1.dlq',
} as const;

/** Where each consumed topic's messages go when they can never be processed. */
export const DEAD_LETTER_TOPICS = {
  [TOPICS.raw]: TOPICS.rawDlq,
  [TOPICS.normalized]: TOPICS.normalizedDlq,
  [TOPICS.traces]: TOPICS.tracesDlq,
  [TOPICS.metrics]: TOPICS.metricsDlq,
  [TOPICS.logs]: TOPICS.logsDlq,
} as const;

/** The consumer group that owns each consumed topic. */
export const CONSUMER_GROUPS = {
  [TOPICS.raw]: 'emberflow-decoder',
  [TOPICS.normalized]: 'emberflow-exporter',
  [TOPICS.traces]: 'emberflow-otlp-traces',
  [TOPICS.metrics]: 'emberflow-otlp-metrics',
  [TOPICS.logs]: 'emberflow-otlp-logs',
} as const;

export interface TopicSettings {
  rawPartitions: number;
  normalizedPartitions: number;
  /** partitions of each OTLP signal's topic */
  otlpPartitions?: number;
  /** the largest upload body ingest accepts; raw topics must hold it plus headers */
  maxUploadBytes: number;
}

/** Headroom for headers and record overhead on top of the largest body. */
const RECORD_OVERHEAD = 64 * 1024;

export function topicSpecs(s: TopicSettings): TopicSpec[] {
  const big = s.maxUploadBytes + RECORD_OVERHEAD;
  const week = 7 * 24 * 3600 * 1000;
  return [
    {
      name: TOPICS.raw,
      partitions: s.rawPartitions,
      maxMessageBytes: big,
      retentionMs: -1,
      entry: true,
    },
    {
      name: TOPICS.rawDlq,
      partitions: 1,
      maxMessageBytes: big,
      retentionMs: week,
      deadLetter: true,
    },
    {
      name: TOPICS.normalized,
      partitions: s.normalizedPartitions,
      maxMessageBytes: big,
      retentionMs: -1,
    },
    {
      name: TOPICS.normalizedDlq,
      partitions: 1,
      maxMessageBytes: big,
      retentionMs: week,
      deadLetter: true,
    },
    // OTLP signals: entry topics like raw uploads (ingest publishes them), each with its DLQ
    ...(['traces', 'metrics', 'logs'] as const).flatMap((signal): TopicSpec[] => [
      {
        name: TOPICS[signal],
        partitions: s.otlpPartitions ?? s.normalizedPartitions,
        maxMessageBytes: big,
        retentionMs: -1,
        entry: true,
      },
      {
        name: TOPICS[`${signal}Dlq`],
        partitions: 1,
        maxMessageBytes: big,
        retentionMs: week,
        deadLetter: true,
      },
    ]),
  ];
}
