import { randomUUID } from 'node:crypto';
import './native-crc32c.js';
import './produce-request.js';
import kafkajs from 'kafkajs';
import { DLQ_HEADERS, fromDeadLetter } from '../contracts/dead-letter.js';
import type { IncomingMessage, OutgoingMessage } from '../queue.port.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

// Replays dead letters after a fix: reads a DLQ topic from the beginning up to its end as it was
// when the replay started, and re-publishes the messages that match the filters to their source
// topic, untouched but for the ember-dlq-* headers. The DLQ itself is left as it is (it is a
// log); replaying twice is harmless downstream because a replayed upload keeps its upload id,
// so its series ids repeat and the exporter's delivered-ids record drops the repeats.

export interface ReplayOptions {
  brokers: string[];
  /** EMBER_NAMESPACE of the deployment whose dead letters these are */
  namespace?: string;
  dlqTopic: string;
  reason?: string;
  tenant?: string;
  dryRun: boolean;
  /** stop after replaying this many; 0 = no limit */
  limit: number;
  log: (line: string) => void;
}

export interface ReplayResult {
  scanned: number;
  replayed: number;
  byReason: Record<string, number>;
}

export function matchesFilters(
  m: IncomingMessage,
  o: Pick<ReplayOptions, 'reason' | 'tenant'>,
): boolean {
  if (o.reason && m.headers[DLQ_HEADERS.reason] !== o.reason) return false;
  if (o.tenant && m.headers['ember-tenant'] !== o.tenant) return false;
  return true;
}

export async function replayDeadLetters(o: ReplayOptions): Promise<ReplayResult> {
  const kafka = new Kafka({
    clientId: 'emberflow-replay',
    brokers: o.brokers,
    logLevel: logLevel.WARN,
  });
  const admin = kafka.admin();
  await admin.connect();
  const ns = o.namespace ?? '';
  const dlqTopic = ns + o.dlqTopic;
  const groupId = `emberflow-replay-${randomUUID()}`;
  const result: ReplayResult = { scanned: 0, replayed: 0, byReason: {} };
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 64 * 1024 * 1024 });
  try {
    const ends = new Map<number, bigint>();
    for (const p of await admin.fetchTopicOffsets(dlqTopic)) {
      const high = BigInt(p.high);
      const low = BigInt(p.low);
      if (high > low) ends.set(p.partition, high);
    }
    if (ends.size === 0) {
      o.log(`${o.dlqTopic} is empty: nothing to replay`);
      return result;
    }
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
    let finish!: () => void;
    let fail!: (err: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const remaining = new Set(ends.keys());
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        try {
          const out = new Map<string, OutgoingMessage[]>();
          const end = ends.get(batch.partition);
          for (const raw of batch.messages) {
            if (end === undefined || BigInt(raw.offset) >= end) continue;
            if (o.limit > 0 && result.replayed >= o.limit) continue;
            const m: IncomingMessage = {
              topic: o.dlqTopic,
              partition: batch.partition,
              offset: raw.offset,
              key: raw.key ? raw.key.toString() : null,
              value: raw.value ?? Buffer.alloc(0),
              headers: Object.fromEntries(
                Object.entries(raw.headers ?? {}).map(([k, v]) => [
                  k,
                  String(Array.isArray(v) ? v[0] : v),
                ]),
              ),
              timestamp: Number(raw.timestamp),
            };
            result.scanned++;
            if (!matchesFilters(m, o)) continue;
            const reason = m.headers[DLQ_HEADERS.reason] ?? 'unknown';
            result.byReason[reason] = (result.byReason[reason] ?? 0) + 1;
            result.replayed++;
            const { topic, message } = fromDeadLetter(m);
            out.set(topic, [...(out.get(topic) ?? []), message]);
          }
          if (!o.dryRun) {
            for (const [topic, messages] of out) {
              await producer.send({
                topic: ns + topic,
                acks: -1,
                messages: messages.map((x) => ({ key: x.key, value: x.value, headers: x.headers })),
              });
            }
          }
          const last = batch.messages[batch.messages.length - 1];
          if (end === undefined || (last && BigInt(last.offset) + 1n >= end))
            remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        } catch (err) {
          fail(err);
        }
      },
    });
    await done;
    return result;
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}
