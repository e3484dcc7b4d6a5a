import type { IncomingMessage, OutgoingMessage } from '../queue.port.js';

// A dead letter is the original message, untouched, plus why it died. Replay strips the
// ember-dlq-* headers and publishes it back to its source topic.

export const DLQ_HEADERS = {
  reason: 'ember-dlq-reason',
  message: 'ember-dlq-message',
  sourceTopic: 'ember-dlq-source-topic',
  sourceOffset: 'ember-dlq-source-offset',
  failedAt: 'ember-dlq-failed-at',
  /** failed attempts before it was dead-lettered (retry budget, permanent errors: 1+) */
  attempts: 'ember-dlq-attempts',
  firstFailedAt: 'ember-dlq-first-failed-at',
} as const;

export function toDeadLetter(m: IncomingMessage, reason: string, message: string): OutgoingMessage {
  return {
    key: m.key,
    value: m.value,
    headers: {
      ...m.headers,
      [DLQ_HEADERS.reason]: reason,
      // keep headers small: a message is for humans, the reason is for machines
      [DLQ_HEADERS.message]: message.slice(0, 1024),
      [DLQ_HEADERS.sourceTopic]: m.topic,
      [DLQ_HEADERS.sourceOffset]: `${m.partition}/${m.offset}`,
      [DLQ_HEADERS.failedAt]: String(Date.now()),
    },
  };
}

export function fromDeadLetter(m: IncomingMessage): { topic: string; message: OutgoingMessage } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) {
    if (!k.startsWith('ember-dlq-')) headers[k] = v;
  }
  const topic = m.headers[DLQ_HEADERS.sourceTopic] ?? m.topic.replace(/\.dlq$/, '');
  return { topic, message: { key: m.key, value: m.value, headers } };
}
