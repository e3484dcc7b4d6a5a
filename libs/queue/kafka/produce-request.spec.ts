import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import './native-crc32c.js';
import {
  encodeProduceV3,
  frameRequest,
  loadOriginal,
  produceRequestInstalled,
  produceV3,
  type ProduceArgs,
} from './produce-request.js';

const require = createRequire(import.meta.url);

interface Encoded {
  buffer: Buffer;
}
type Request = { encode(): Promise<Encoded>; apiKey: number; apiVersion: number };
const originalV3 = loadOriginal<(a: ProduceArgs) => Request>(
  'kafkajs/src/protocol/requests/produce/v3/request.js',
);
const originalFrame = loadOriginal<
  (a: { correlationId: number; clientId: string | null; request: Request }) => Promise<Encoded>
>('kafkajs/src/protocol/request.js');
const crc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromInt(v: number): unknown };

/** `fn` with the clock fixed at `now` (kafkajs stamps each batch with Date.now()) */
async function atClock<T>(now: number, fn: () => Promise<T>): Promise<T> {
  const real = Date.now;
  Date.now = () => now;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

/** kafkajs's bytes for `args`, with its clock fixed at `now` */
const kafkajsBytes = (args: ProduceArgs, now: number): Promise<Buffer> =>
  atClock(now, async () => Buffer.from((await originalV3(args).encode()).buffer));

const text = fc.string({ maxLength: 40, unit: 'grapheme' });
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.constant(Buffer.alloc(70_000, 7)), // a length of three varint bytes
);
const message = fc.record(
  {
    key: fc.oneof(fc.constant(null), text, bytes),
    value: fc.oneof(bytes, text, fc.constant(null)),
    headers: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.oneof(text, bytes, fc.array(text, { minLength: 1, maxLength: 3 })),
      { maxKeys: 6 },
    ),
  },
  { requiredKeys: ['value'] },
);
const args: fc.Arbitrary<ProduceArgs> = fc.record({
  acks: fc.constantFrom(-1, 0, 1),
  timeout: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  transactionalId: fc.oneof(fc.constant(null), fc.constant(''), text),
  producerId: fc.oneof(
    fc.constant(Long.fromInt(-1)),
    fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((n) => Long.fromInt(n)),
  ),
  producerEpoch: fc.integer({ min: 0, max: 32767 }),
  topicData: fc.array(
    fc.record({
      topic: fc.string({ minLength: 1, maxLength: 30 }),
      partitions: fc.array(
        fc.record(
          {
            partition: fc.nat({ max: 63 }),
            firstSequence: fc.nat({ max: 1_000_000 }),
            messages: fc.array(message, { maxLength: 6 }),
          },
          { requiredKeys: ['partition', 'messages'] },
        ),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

describe('produce requests in one buffer (kafkajs’s bytes, fewer copies)', () => {
  it('is what kafkajs in this process uses for produce requests and request frames', () => {
    assert.equal(produceRequestInstalled, true);
    const v3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as unknown;
    assert.equal(typeof v3, 'function');
    assert.equal(require('kafkajs/src/protocol/request.js'), frameRequest);
  });

  it('encodes a produce request v3 to exactly kafkajs’s bytes', async () => {
    await fc.assert(
      fc.asyncProperty(args, fc.integer({ min: 0, max: 2 ** 42 }), async (a, now) => {
        const ours = encodeProduceV3(a, () => now, crc32c);
        assert.deepEqual(ours, await kafkajsBytes(a, now));
      }),
      { numRuns: 300 },
    );
  });

  it('a batch’s checksum covers its records: one changed value byte changes the CRC', () => {
    const a: ProduceArgs = {
      acks: -1,
      timeout: 30_000,
      topicData: [
        { topic: 't', partitions: [{ partition: 0, messages: [{ value: Buffer.from('abc') }] }] },
      ],
    };
    const b = structuredClone(a);
    b.topicData[0].partitions[0].messages[0].value = Buffer.from('abd');
    const x = encodeProduceV3(a, () => 1, crc32c);
    const y = encodeProduceV3(b, () => 1, crc32c);
    // acks 2, timeout 4, txn id 2, topics 4, topic 3, partitions 4, partition 4, size 4,
    // firstOffset 8, length 4, epoch 4, magic 1: the CRC follows
    const crcAt = 2 + 4 + 2 + 4 + 3 + 4 + 4 + 4 + 8 + 4 + 4 + 1;
    assert.notEqual(x.readUInt32BE(crcAt), y.readUInt32BE(crcAt));
    assert.equal(x.readUInt32BE(crcAt), crc32c(x.subarray(crcAt + 4)) >>> 0);
  });

  it('leaves what it does not encode to kafkajs: compression, timestamps, null headers', async () => {
    const base: ProduceArgs = {
      acks: -1,
      timeout: 1000,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ value: 'v' }] }] }],
    };
    const ours = produceV3(originalV3 as never, crc32c, () => 5);
    const oursBytes = (a: ProduceArgs) =>
      atClock(5, async () => Buffer.from((await ours(a).encode()).buffer));
    const withTimestamp = structuredClone(base);
    withTimestamp.topicData[0].partitions[0].messages[0].timestamp = '1700000000000';
    assert.deepEqual(await oursBytes(withTimestamp), await kafkajsBytes(withTimestamp, 5));
    // kafkajs refuses a null header value while sizing it; so does the delegated encode
    const nullHeader = structuredClone(base);
    nullHeader.topicData[0].partitions[0].messages[0].headers = { h: null };
    await assert.rejects(async () => (await ours(nullHeader).encode()).buffer);
    // gzip: kafkajs's codec
    const gzip = { ...base, compression: 1 };
    assert.deepEqual(await oursBytes(gzip), await kafkajsBytes(gzip, 5));
    assert.equal(ours(base).apiVersion, 3);
    assert.equal(ours({ ...base, acks: 0 }).expectResponse(), false);
  });

  it('frames a request as kafkajs does, the payload copied once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.oneof(fc.constant(null), text),
        fc.uint8Array({ maxLength: 2000 }),
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 0, max: 12 }),
        async (correlationId, clientId, payload, apiKey, apiVersion) => {
          const request: Request = {
            apiKey,
            apiVersion,
            encode: async () =>
              ({ buffer: Buffer.from(payload), buf: Buffer.from(payload) }) as never,
          };
          const ours = (await frameRequest({ correlationId, clientId, request: request as never }))
            .buffer;
          const theirs = (await originalFrame({ correlationId, clientId, request })).buffer;
          assert.deepEqual(Buffer.from(ours), Buffer.from(theirs));
        },
      ),
      { numRuns: 200 },
    );
  });
});
