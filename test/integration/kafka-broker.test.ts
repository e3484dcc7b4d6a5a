import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { KafkaBroker, type IncomingMessage } from '../../libs/queue/index.js';
import { queueBrokerContract } from '../../libs/queue/queue.contract.js';
import { testServices } from '../support/services.js';

// The same contract the in-process queue passes, on the real Kafka broker.
queueBrokerContract('kafka (real broker)', {
  create: (o) =>
    new KafkaBroker({
      brokers: testServices().kafkaBrokers.split(','),
      clientId: 'emberflow-contract-test',
      requestTimeoutMs: 30_000,
      sessionTimeoutMs: 10_000,
      stallAfterMs: o?.stallAfterMs,
      lagPollMs: 500,
      log: (level, message) => {
        if (level === 'error') console.error(`kafka: ${message}`);
      },
    }),
  deadLetters: readTopic,
  deliveryTimeoutMs: 30_000,
});

/** Every record of a topic so far, read by a throw-away consumer group. */
async function readTopic(_broker: unknown, topic: string): Promise<IncomingMessage[]> {
  const kafka = new kafkajs.Kafka({
    clientId: 'contract-dlq-reader',
    brokers: testServices().kafkaBrokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const total = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  await admin.disconnect();
  const out: IncomingMessage[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        out.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value ?? Buffer.alloc(0),
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          ),
          timestamp: Number(message.timestamp),
        });
        if (out.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}
