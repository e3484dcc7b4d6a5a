import kafkajs from 'kafkajs';
import { testServices } from './services.js';

// Looking at the real broker as an operator would, from a test: how many records a topic holds,
// and changing a topic's settings behind a running deployment's back.

function client(): kafkajs.Kafka {
  return new kafkajs.Kafka({
    clientId: 'emberflow-test-admin',
    brokers: testServices().kafkaBrokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
}

/** Records a topic holds (sum over partitions of high - low); 0 when the topic does not exist. */
export async function topicRecords(topic: string): Promise<number> {
  const admin = client().admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Sets one config entry of a topic (e.g. max.message.bytes), as an operator would. */
export async function setTopicConfig(topic: string, name: string, value: string): Promise<void> {
  const admin = client().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: topic, configEntries: [{ name, value }] }],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Every record of a topic so far, with its headers (a throw-away consumer group). */
export async function readTopic(
  topic: string,
): Promise<{ key: string | null; value: Buffer; headers: Record<string, string> }[]> {
  const total = await topicRecords(topic);
  const out: { key: string | null; value: Buffer; headers: Record<string, string> }[] = [];
  if (total === 0) return out;
  const consumer = client().consumer({ groupId: `test-reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        out.push({
          key: message.key?.toString() ?? null,
          value: message.value ?? Buffer.alloc(0),
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          ),
        });
        if (out.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}
