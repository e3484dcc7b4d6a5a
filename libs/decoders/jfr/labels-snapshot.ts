import { JfrError } from './errors.js';
import { canonicalId } from './id-index.js';
import { anchorMaps } from './anchors.js';

/**
 * The `labels` part of a JFR upload (§1.5.2): pyroscope-java's `LabelsSnapshot` protobuf.
 *
 *   message Context        { map<int64, int64>  labels   = 1; }
 *   message LabelsSnapshot { map<int64, Context> contexts = 1; map<int64, string> strings = 2; }
 *
 * Keys are int64 in canonical form (a number when safe, else a bigint). Map order is wire order
 * (first occurrence) with protobuf's last-value-wins for repeated keys; Go's map iteration order
 * upstream is random, so no consumer may rely on label order.
 */
export interface LabelsSnapshot {
  /** context id → [key string id, value string id] pairs */
  contexts: Map<number | bigint, Array<[number | bigint, number | bigint]>>;
  strings: Map<number | bigint, string>;
}

export function emptyLabelsSnapshot(): LabelsSnapshot {
  return { contexts: new Map(), strings: new Map() };
}

const utf8 = new TextDecoder('utf-8');

class PbReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw bad('truncated varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, v);
    }
    throw bad('varint longer than 10 bytes');
  }

  small(): number {
    if (this.pos < this.end) {
      const b = this.buf[this.pos];
      if (b < 0x80) {
        this.pos++;
        return b;
      }
    }
    const v = this.varint();
    if (v > 0x7fffffffn) throw bad('tag or length out of range');
    return Number(v);
  }

  int64(): number | bigint {
    return canonicalId(BigInt.asIntN(64, this.varint()));
  }

  sub(): PbReader {
    const len = this.small();
    if (this.pos + len > this.end) throw bad('truncated length-delimited field');
    const r = new PbReader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.sub();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        throw bad(`unsupported wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw bad('truncated fixed field');
    this.pos += n;
  }
}

function bad(message: string): JfrError {
  return new JfrError('malformed', `labels snapshot: ${message}`);
}

/** Reads a map entry `{1: key, 2: value}` calling `value` for field 2. */
function entry<V>(
  r: PbReader,
  key: (r: PbReader) => number | bigint,
  value: (r: PbReader) => V,
  dflt: V,
): [number | bigint, V] {
  let k: number | bigint = 0;
  let v = dflt;
  while (r.pos < r.end) {
    const tag = r.small();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) k = key(r);
    else if (field === 2) v = value(r);
    else r.skip(wire);
  }
  return [k, v];
}

/** Decodes a (gunzipped) LabelsSnapshot. Throws `JfrError('malformed')` on invalid protobuf. */
export function decodeLabelsSnapshot(buf: Uint8Array): LabelsSnapshot {
  const out = emptyLabelsSnapshot();
  const r = new PbReader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = r.small();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      const [id, labels] = entry(
        r.sub(),
        (x) => x.int64(),
        readContext,
        new Map<number | bigint, number | bigint>(),
      );
      out.contexts.set(id, [...labels]);
    } else if (field === 2 && wire === 2) {
      const [id, s] = entry(
        r.sub(),
        (x) => x.int64(),
        (x) => {
          const sub = x.sub();
          return utf8.decode(sub.buf.subarray(sub.pos, sub.end));
        },
        '',
      );
      out.strings.set(id, s);
    } else {
      r.skip(wire);
    }
  }
  return out;
}

function readContext(r: PbReader): Map<number | bigint, number | bigint> {
  const ctx = r.sub();
  const labels = new Map<number | bigint, number | bigint>();
  while (ctx.pos < ctx.end) {
    const tag = ctx.small();
    if (tag >>> 3 === 1 && (tag & 7) === 2) {
      const [k, v] = entry(
        ctx.sub(),
        (x) => x.int64(),
        (x) => x.int64(),
        0 as number | bigint,
      );
      labels.set(k, v);
    } else {
      ctx.skip(tag & 7);
    }
  }
  return labels;
}

anchorMaps(new PbReader(new Uint8Array(0), 0, 0));
