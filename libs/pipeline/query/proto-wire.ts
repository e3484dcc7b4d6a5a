// A small proto3 codec for the query API's messages (querier.v1, types.v1), driven by field
// tables instead of generated code: requests are decoded into plain objects with proto3
// defaults, from binary (`application/proto`) or from protojson (`application/json`, int64 as
// strings or numbers, enums as names or numbers, camelCase or original field names);
// responses are written with the protocol library's ProtoWriter. int64 values are JS numbers (timestamps and sample
// totals stay far below 2^53).

export class ProtoDecodeError extends Error {
  override readonly name = 'ProtoDecodeError';
}

export type Scalar = 'string' | 'int64' | 'double' | 'bool' | 'uint32';

export interface FieldSpec {
  /** the protojson (camelCase) name, also the key in the decoded object */
  json: string;
  /** the .proto name, accepted in JSON too */
  proto: string;
  type: Scalar | { enum: readonly string[] } | { message: MessageSpec };
  repeated?: boolean;
}

export type MessageSpec = Record<number, FieldSpec>;

export type Decoded = Record<string, unknown>;

function defaults(spec: MessageSpec): Decoded {
  const o: Decoded = {};
  for (const f of Object.values(spec)) {
    if (f.repeated) o[f.json] = [];
    else if (typeof f.type === 'string')
      o[f.json] = f.type === 'string' ? '' : f.type === 'bool' ? false : 0;
    else if ('enum' in f.type) o[f.json] = 0;
    else o[f.json] = undefined;
  }
  return o;
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new ProtoDecodeError('unexpected EOF');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return result >= 2 ** 63 ? result - 2 ** 64 : result; // int64 two's complement
    }
    throw new ProtoDecodeError('proto: integer overflow');
  }
  len(): number {
    const n = this.varint();
    if (n < 0 || this.pos + n > this.end) throw new ProtoDecodeError('unexpected EOF');
    return n;
  }
  double(): number {
    if (this.pos + 8 > this.end) throw new ProtoDecodeError('unexpected EOF');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos += this.len();
    else if (wire === 5) this.pos += 4;
    else throw new ProtoDecodeError(`proto: illegal wireType ${wire}`);
    if (this.pos > this.end) throw new ProtoDecodeError('unexpected EOF');
  }
}

const utf8 = new TextDecoder();

function scalarFrom(r: Reader, type: Scalar | { enum: readonly string[] }, wire: number): unknown {
  if (type === 'string') {
    const n = r.len();
    const s = utf8.decode(r.buf.subarray(r.pos, r.pos + n));
    r.pos += n;
    return s;
  }
  if (type === 'double') {
    if (wire !== 1) throw new ProtoDecodeError('proto: wrong wireType for double');
    return r.double();
  }
  const v = r.varint();
  return type === 'bool' ? v !== 0 : v;
}

/** Decodes a binary message by its field table. Unknown fields are skipped. */
export function decodeProto(
  spec: MessageSpec,
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): Decoded {
  const out = defaults(spec);
  const r = new Reader(buf, start, end);
  while (r.pos < r.end) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    const f = spec[field];
    if (!f) {
      r.skip(wire);
      continue;
    }
    if (typeof f.type === 'object' && 'message' in f.type) {
      if (wire !== 2) throw new ProtoDecodeError(`proto: wrong wireType for ${f.proto}`);
      const n = r.len();
      const v = decodeProto(f.type.message, r.buf, r.pos, r.pos + n);
      r.pos += n;
      if (f.repeated) (out[f.json] as unknown[]).push(v);
      else out[f.json] = v;
      continue;
    }
    if (f.repeated && wire === 2 && f.type !== 'string') {
      // packed scalars
      const n = r.len();
      const inner = new Reader(r.buf, r.pos, r.pos + n);
      while (inner.pos < inner.end)
        (out[f.json] as unknown[]).push(scalarFrom(inner, f.type, f.type === 'double' ? 1 : 0));
      r.pos += n;
      continue;
    }
    const v = scalarFrom(r, f.type, wire);
    if (f.repeated) (out[f.json] as unknown[]).push(v);
    else out[f.json] = v;
  }
  return out;
}

function jsonScalar(f: FieldSpec, v: unknown): unknown {
  const t = f.type;
  if (t === 'string') {
    if (typeof v !== 'string') throw new ProtoDecodeError(`${f.json}: expected a string`);
    return v;
  }
  if (t === 'bool') return v === true || v === 'true';
  if (typeof t === 'object' && 'enum' in t) {
    if (typeof v === 'string') {
      const i = t.enum.indexOf(v);
      if (i < 0) throw new ProtoDecodeError(`${f.json}: unknown value ${v}`);
      return i;
    }
    return Number(v);
  }
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new ProtoDecodeError(`${f.json}: expected a number, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Normalises a protojson object by the same field table as decodeProto. */
export function fromJson(spec: MessageSpec, value: unknown): Decoded {
  const out = defaults(spec);
  if (value === null || value === undefined) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtoDecodeError('expected a JSON object');
  }
  const o = value as Record<string, unknown>;
  for (const f of Object.values(spec)) {
    const v = o[f.json] ?? o[f.proto];
    if (v === undefined || v === null) continue;
    const one = (x: unknown): unknown =>
      typeof f.type === 'object' && 'message' in f.type
        ? fromJson(f.type.message, x)
        : jsonScalar(f, x);
    if (f.repeated) {
      if (!Array.isArray(v)) throw new ProtoDecodeError(`${f.json}: expected an array`);
      out[f.json] = v.map(one);
    } else out[f.json] = one(v);
  }
  return out;
}
