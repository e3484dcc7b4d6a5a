import type { TopicSpec } from './queue.port.js';

// Topic names carry their contract version: a breaking change is a new topic.
export const TOPICS = {
  raw: 'profiles.raw.v1',
  rawDlq: 'profiles.raw.v1.dlq',
  normalized: 'profiles.normalized.v1',
  normalizedDlq: 'profiles.normalized.v1.dlq',
} as const;

/** Where each consumed topic's messages go when they can never be processed. */
export const DEAD_LETTER_TOPICS = {
  [TOPICS.raw]: TOPICS.rawDlq,
  [TOPICS.normalized]: TOPICS.normalizedDlq,
} as const;

/** The consumer group that owns each consumed topic. */
export const CONSUMER_GROUPS = {
  [TOPICS.raw]: 'emberflow-decoder',
  [TOPICS.normalized]: 'emberflow-exporter',
} as const;

export interface TopicSettings {
  rawPartitions: number;
  normalizedPartitions: number;
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
  ];
}
