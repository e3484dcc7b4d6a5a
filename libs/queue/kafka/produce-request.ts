import { Module, createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

// kafkajs builds a produce request by nesting encoders: each record, each batch, each partition,
// each topic and the request are buffers of their own, grown by doubling (zero-filled) and
// copied whole into their parent, and the request is copied twice more to be framed. A 250 KB
// upload published by ingest was copied and zero-filled about a dozen times: a third of ingest's
// CPU on the JFR load, 8-9 % of the decoder's (docs/adr/0008, addendum "one buffer per produce
// request"). Here a produce request (v3, which kafkajs's v4-v7 reuse) is sized first and written
// once into one buffer, and the frame around any request copies its payload once. The bytes are
// kafkajs's own, byte for byte (produce-request.spec.ts compares them on random requests).
//
// kafkajs has no hook for this: like native-crc32c.ts, this module puts its functions in the
// require cache under kafkajs's own modules before kafkajs loads them. Import it before kafkajs.
// A request this encoder does not handle (compression, message timestamps, values kafkajs
// would convert or refuse) is encoded by kafkajs's original code, loaded beside it.

const require = createRequire(import.meta.url);

interface KafkaLong {
  getHighBits(): number;
  getLowBits(): number;
}
interface LongStatic {
  fromValue(v: unknown): KafkaLong;
  fromInt(v: number): KafkaLong;
}
interface KafkaEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
}
type EncoderClass = new (initialSize?: number) => KafkaEncoder;

type Bytes = Buffer | string | null | undefined;
export interface ProduceMessage {
  key?: Bytes;
  value: Bytes;
  headers?: Record<string, Bytes | Bytes[]>;
  timestamp?: unknown;
}
export interface ProducePartition {
  partition: number;
  firstSequence?: number;
  messages: ProduceMessage[];
}
export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: ProducePartition[] }[];
}
interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
  encode(): Promise<KafkaEncoder>;
}
interface FrameArgs {
  correlationId: number;
  clientId: string | null;
  request: { apiKey: number; apiVersion: number; encode(): Promise<KafkaEncoder> };
}

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;
const PRODUCE_API_KEY = 0;

/** A kafkajs module's code, loaded as a module of its own (not through the require cache). */
export function loadOriginal<T>(request: string): T {
  const filename = require.resolve(request);
  const mod = new Module(filename);
  mod.filename = filename;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(
    dirname(filename),
  );
  (mod as unknown as { _compile(src: string, f: string): void })._compile(
    readFileSync(filename, 'utf8'),
    filename,
  );
  return mod.exports as T;
}

const Long = require('kafkajs/src/utils/long.js') as LongStatic;
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;

/** kafkajs's Encoder around `buf` (its consumers read `buf`, `offset`, `buffer` and `size()`). */
function asEncoder(buf: Buffer): KafkaEncoder {
  const e = new Encoder(0);
  e.buf = buf;
  e.offset = buf.length;
  return e;
}

const isBytes = (v: unknown): v is Bytes =>
  v === null || v === undefined || typeof v === 'string' || Buffer.isBuffer(v);

/** kafkajs's 32-bit zigzag (its lengths and deltas: all below 2^30 here) */
const zigzag = (v: number): number => (v << 1) ^ (v >> 31);

function sizeOfUVarInt(v: number): number {
  let n = 1;
  while ((v & 0xffffff80) !== 0) {
    n++;
    v >>>= 7;
  }
  return n;
}
const sizeOfVarInt = (v: number): number => sizeOfUVarInt(zigzag(v));
const byteLength = (v: Buffer | string): number =>
  typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
const sizeOfVarIntBytes = (v: Bytes): number => {
  if (v === null || v === undefined) return sizeOfVarInt(-1);
  const n = byteLength(v);
  return sizeOfVarInt(n) + n;
};

/** Header pairs in kafkajs's order (an array value is one header per element). */
function headerPairs(headers: ProduceMessage['headers']): [string, Bytes][] {
  const out: [string, Bytes][] = [];
  if (!headers) return out;
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
}

/** Whether kafkajs's own code must encode these messages (this encoder covers the rest). */
function needsOriginal(args: ProduceArgs): boolean {
  if ((args.compression ?? 0) !== 0) return true;
  for (const t of args.topicData)
    for (const p of t.partitions) {
      if (p.firstSequence !== undefined && !Number.isInteger(p.firstSequence)) return true;
      for (const m of p.messages) {
        if (m.timestamp !== undefined && m.timestamp !== null) return true;
        if (!isBytes(m.key) || !isBytes(m.value)) return true;
        // kafkajs cannot size a null or missing header value (it throws): let it
        for (const v of Object.values(m.headers ?? {}))
          for (const x of Array.isArray(v) ? v : [v])
            if (x === null || x === undefined || !isBytes(x)) return true;
      }
    }
  return false;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  int8(v: number): void {
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }
  int16(v: number): void {
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }
  int32(v: number): void {
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }
  int64(v: unknown): void {
    const l = Long.fromValue(v);
    this.buf.writeInt32BE(l.getHighBits(), this.pos);
    this.buf.writeInt32BE(l.getLowBits(), this.pos + 4);
    this.pos += 8;
  }
  uvarint(v: number): void {
    const b = this.buf;
    while ((v & 0xffffff80) !== 0) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v & 0x7f;
  }
  varint(v: number): void {
    this.uvarint(zigzag(v));
  }
  /** `n` bytes of UTF-8 (`n` measured by the caller, who wrote it as the length) */
  private utf8(v: string, n: number): void {
    this.buf.write(v, this.pos, n, 'utf8');
    this.pos += n;
  }
  /** int16 length + UTF-8, -1 for null (kafkajs writeString) */
  string(v: string | null | undefined): void {
    if (v === null || v === undefined) return this.int16(-1);
    const n = Buffer.byteLength(v, 'utf8');
    this.int16(n);
    this.utf8(v, n);
  }
  /** varint length + bytes, -1 for null (kafkajs writeVarIntBytes / writeVarIntString) */
  varBytes(v: Bytes): void {
    if (v === null || v === undefined) return this.varint(-1);
    if (typeof v === 'string') {
      const n = Buffer.byteLength(v, 'utf8');
      this.varint(n);
      this.utf8(v, n);
    } else {
      this.varint(v.length);
      v.copy(this.buf, this.pos);
      this.pos += v.length;
    }
  }
}

// RecordBatch v2 up to the records: attributes 2, lastOffsetDelta 4, timestamps 16,
// producerId 8, producerEpoch 2, firstSequence 4, record count 4
const BATCH_BODY_HEAD = 40;
// before the body: firstOffset 8, batch length 4, partitionLeaderEpoch 4, magic 1, crc 4
const BATCH_HEAD = 21;

/**
 * kafkajs's produce request v3 payload for `args`, in one buffer: the bytes kafkajs's
 * `produce/v3/request.js` encodes. `now` is each batch's timestamp (kafkajs: Date.now() per
 * partition, read when the request is encoded); `crc32c` checksums a batch.
 * Only for arguments `needsOriginal` accepts.
 */
export function encodeProduceV3(
  args: ProduceArgs,
  now: () => number,
  crc32c: (b: Buffer) => number,
): Buffer {
  // pass 1: sizes (records are sized once; their sizes are kept for pass 2)
  const recordBodies: number[] = [];
  const headers: [string, Bytes][][] = [];
  let size = 2 + 4; // acks, timeout
  size += args.transactionalId == null ? 2 : 2 + Buffer.byteLength(args.transactionalId, 'utf8');
  size += 4;
  for (const t of args.topicData) {
    size += 2 + Buffer.byteLength(t.topic, 'utf8') + 4;
    for (const p of t.partitions) {
      size += 4 + 4 + BATCH_HEAD + BATCH_BODY_HEAD;
      p.messages.forEach((m, i) => {
        const hs = headerPairs(m.headers);
        let hSize = sizeOfVarInt(hs.length);
        for (const [k, v] of hs) hSize += sizeOfVarIntBytes(k) + sizeOfVarIntBytes(v);
        // attributes, timestampDelta (0: no message timestamps here), offsetDelta, key, value
        const body =
          1 + 1 + sizeOfVarInt(i) + sizeOfVarIntBytes(m.key) + sizeOfVarIntBytes(m.value) + hSize;
        recordBodies.push(body);
        headers.push(hs);
        size += sizeOfVarInt(body) + body;
      });
    }
  }
  // pass 2: bytes
  const w = new Writer(Buffer.allocUnsafe(size));
  w.string(args.transactionalId);
  w.int16(args.acks);
  w.int32(args.timeout);
  w.int32(args.topicData.length);
  const attributes = args.transactionalId ? TRANSACTIONAL_MASK : 0;
  let r = 0;
  for (const t of args.topicData) {
    w.string(t.topic);
    w.int32(t.partitions.length);
    for (const p of t.partitions) {
      const ts = now();
      w.int32(p.partition);
      const recordSetAt = w.pos;
      w.pos += 4; // record set size, once known
      w.int64(0); // firstOffset
      const batchLengthAt = w.pos;
      w.pos += 4;
      w.int32(0); // partitionLeaderEpoch
      w.int8(MAGIC_BYTE);
      const crcAt = w.pos;
      w.pos += 4;
      const bodyAt = w.pos;
      w.int16(attributes);
      w.int32(p.messages.length - 1);
      w.int64(ts);
      w.int64(ts);
      w.int64(args.producerId ?? Long.fromInt(-1));
      w.int16(args.producerEpoch ?? 0);
      w.int32(p.firstSequence ?? 0);
      w.int32(p.messages.length);
      p.messages.forEach((m, i) => {
        w.varint(recordBodies[r]);
        w.int8(0);
        w.varint(0); // timestampDelta
        w.varint(i);
        w.varBytes(m.key);
        w.varBytes(m.value);
        const hs = headers[r];
        w.varint(hs.length);
        for (const [k, v] of hs) {
          w.varBytes(k);
          w.varBytes(v);
        }
        r++;
      });
      const end = w.pos;
      w.buf.writeUInt32BE(crc32c(w.buf.subarray(bodyAt, end)) >>> 0, crcAt);
      w.buf.writeInt32BE(end - batchLengthAt - 4, batchLengthAt);
      w.buf.writeInt32BE(end - recordSetAt - 4, recordSetAt);
    }
  }
  if (w.pos !== size) throw new Error(`produce request sized ${size} bytes, wrote ${w.pos}`);
  return w.buf;
}

/**
 * kafkajs's request frame (`protocol/request.js`): int32 size, then apiKey, apiVersion,
 * correlationId, clientId and the payload, with the payload copied once.
 */
export async function frameRequest({ correlationId, clientId, request }: FrameArgs) {
  const payload = (await request.encode()).buffer;
  const idBytes = clientId == null ? 0 : Buffer.byteLength(clientId, 'utf8');
  const size = 2 + 2 + 4 + 2 + idBytes + payload.length;
  const w = new Writer(Buffer.allocUnsafe(4 + size));
  w.int32(size);
  w.int16(request.apiKey);
  w.int16(request.apiVersion);
  w.int32(correlationId);
  w.string(clientId);
  payload.copy(w.buf, w.pos);
  return asEncoder(w.buf);
}

type ProduceV3 = (args: ProduceArgs) => ProduceRequest;

/** Our produce request v3 (kafkajs's `produce/v3/request.js` contract), kafkajs's for the rest. */
export function produceV3(
  original: ProduceV3,
  crc32c: (b: Buffer) => number,
  now: () => number = Date.now,
): ProduceV3 {
  return (args) => {
    if (needsOriginal(args)) return original(args);
    return {
      apiKey: PRODUCE_API_KEY,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => args.acks !== 0,
      encode: async () => asEncoder(encodeProduceV3(args, now, crc32c)),
    };
  };
}

/** Whether kafkajs in this process builds its requests with the encoders above. */
export let produceRequestInstalled = false;

function install(request: string, exports: unknown): boolean {
  const filename = require.resolve(request);
  if (require.cache[filename]) return false; // loaded already: too late to swap
  const mod = new Module(filename);
  mod.filename = filename;
  mod.loaded = true;
  mod.exports = exports;
  require.cache[filename] = mod;
  return true;
}

try {
  // the CRC kafkajs itself uses (the native one when native-crc32c.ts installed it)
  const crc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
    b: Buffer,
  ) => number;
  const original = loadOriginal<ProduceV3>('kafkajs/src/protocol/requests/produce/v3/request.js');
  const a = install(
    'kafkajs/src/protocol/requests/produce/v3/request.js',
    produceV3(original, crc32c),
  );
  const b = install('kafkajs/src/protocol/request.js', frameRequest);
  produceRequestInstalled = a && b;
} catch {
  // kafkajs's layout changed: its own encoders stay in use (same bytes, more copies)
}
