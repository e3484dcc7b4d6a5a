import type { ByteReader } from './byte-reader.js';
import { CHUNK_HEADER_SIZE, type ChunkHeader } from './chunk-header.js';
import { malformed, truncated } from './errors.js';
import type { JfrClass, TypeTable } from './metadata.js';
import { KIND_BYTE, KIND_CP, KIND_STRING, KIND_VARINT } from './metadata.js';
import type { ValueWalker } from './value-walker.js';
import { anchorMaps } from './anchors.js';
import { TypeTable as AnchorTypes } from './metadata.js';

/**
 * Walks the event records of one chunk (§4.4): `size` · `typeId` · payload. Metadata (type 0) and
 * checkpoint (type 1) records are stepped over here, as are records whose type id does not fit a
 * safe integer, so callers only ever see event type ids ≥ 2.
 */
export class EventCursor {
  private pos: number;
  private readonly chunkEnd: number;
  /** end of the current record's payload */
  eventEnd = 0;

  constructor(header: ChunkHeader) {
    this.pos = header.start + CHUNK_HEADER_SIZE;
    this.chunkEnd = header.start + header.size;
  }

  /**
   * Positions `r` at the next event's payload (with `r.end` at the record end) and returns its
   * type id, or -1 at the end of the chunk.
   */
  next(r: ByteReader): number {
    const buf = r.buf;
    const chunkEnd = this.chunkEnd;
    for (;;) {
      const pos = this.pos;
      if (pos >= chunkEnd) return -1;
      // Fast path: size and type of up to four bytes each, decoded without touching `r`.
      if (pos + 8 <= buf.length) {
        const size = varint4(buf, pos);
        const p = vp;
        const type = size > 0 ? varint4(buf, p) : -1;
        const end = pos + size;
        if (type >= 0 && end <= chunkEnd && vp <= end) {
          this.pos = end;
          this.eventEnd = end;
          if (type > 1) {
            r.pos = vp;
            r.end = end;
            return type;
          }
          continue;
        }
      }
      const type = this.nextSlow(r, pos);
      if (type > 1) return type;
    }
  }

  /** The general path (long varints, the input's last bytes, errors). */
  private nextSlow(r: ByteReader, pos: number): number {
    r.at(pos, this.chunkEnd);
    const size = r.readLong();
    if (size <= 0) throw malformed(`event size ${size < 0 ? r.big : size}`, pos);
    const end = pos + size;
    if (end > this.chunkEnd) throw truncated(this.chunkEnd, 'event');
    r.end = end;
    const type = r.readLong();
    this.pos = end;
    this.eventEnd = end;
    return type;
  }
}

/** out-parameter of `varint4` */
let vp = 0;

/** The varint at `pos` if it takes at most 4 bytes (sets `vp` after it), else -1. */
function varint4(buf: Uint8Array, pos: number): number {
  let b = buf[pos++];
  let v = b & 0x7f;
  if (b >= 0x80) {
    b = buf[pos++];
    v |= (b & 0x7f) << 7;
    if (b >= 0x80) {
      b = buf[pos++];
      v |= (b & 0x7f) << 14;
      if (b >= 0x80) {
        b = buf[pos++];
        v |= (b & 0x7f) << 21;
        if (b >= 0x80) return -1;
      }
    }
  }
  vp = pos;
  return v;
}

/** A field an event handler wants: bound like jfr-parser (name, type, cp flag, scalar). */
export interface FieldSpec {
  name: string;
  type: string;
  constantPool: boolean;
  /** output slot: `vals[slot]` for integers/references, `strs[slot]` for strings */
  slot: number;
}

const OP_SKIP_VARINT = 0;
const OP_READ = 1;
const OP_SKIP_BYTE = 2;
const OP_STRING = 3;
const OP_WALK = 4;

/**
 * A compiled reader for one event type of one chunk: reads the wanted fields into `vals`/`strs`,
 * skips the rest, and stops after the last wanted field (the cursor steps to the next record by
 * size). Unbound fields read as 0 / ''. Integer values above 2^53-1 read as -1 with the exact value
 * in `bigs[slot]`.
 *
 * The field list is compiled to one op per field so the hot loop touches only typed arrays and the
 * input bytes; varints are decoded inline with a bounds-check-free path when 9 bytes remain.
 */
export class EventPlan {
  readonly vals: Float64Array;
  readonly bigs: bigint[];
  readonly strs: string[];
  private readonly ops: Uint8Array;
  private readonly slots: Int8Array;
  private readonly n: number;
  private readonly cls: JfrClass;

  constructor(cls: JfrClass, types: TypeTable, specs: readonly FieldSpec[], nslots: number) {
    this.cls = cls;
    this.vals = new Float64Array(nslots);
    this.bigs = new Array<bigint>(nslots).fill(0n);
    this.strs = new Array<string>(nslots).fill('');
    const slots = new Int8Array(cls.fields.length).fill(-1);
    let last = -1;
    for (const spec of specs) {
      const t = types.byName.get(spec.type);
      if (t === undefined) continue;
      const i = cls.fields.findIndex(
        (f) =>
          f.name === spec.name &&
          f.typeId === t.id &&
          f.constantPool === spec.constantPool &&
          !f.array,
      );
      if (i < 0) continue;
      const k = cls.fields[i].kind;
      if (k !== KIND_VARINT && k !== KIND_CP && k !== KIND_STRING) continue;
      slots[i] = spec.slot;
      if (i > last) last = i;
    }
    this.n = last + 1;
    this.slots = slots;
    this.ops = Uint8Array.from(cls.fields.slice(0, this.n), (f, i) => {
      const k = f.kind;
      if (slots[i] >= 0) return k === KIND_STRING ? OP_STRING : OP_READ;
      if (f.array) return OP_WALK;
      if (k === KIND_VARINT || k === KIND_CP) return OP_SKIP_VARINT;
      if (k === KIND_BYTE) return OP_SKIP_BYTE;
      return OP_WALK;
    });
  }

  read(r: ByteReader, walker: ValueWalker): void {
    const buf = r.buf;
    const end = r.end;
    // Fast paths may look up to 9 bytes ahead within the buffer and check the event end after.
    const limit = buf.length - 9;
    const ops = this.ops;
    const slots = this.slots;
    const vals = this.vals;
    const n = this.n;
    let pos = r.pos;
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      if (op === OP_SKIP_VARINT && pos <= limit) {
        let k = 0;
        while (k < 8 && buf[pos] >= 0x80) {
          pos++;
          k++;
        }
        pos++;
        if (pos > end) {
          r.pos = end;
          r.skip(1); // throws truncated
        }
      } else if (op === OP_READ && pos <= limit) {
        // values of up to four bytes (28 bits) inline: ids, states, sizes, durations under 0.27 s
        const start = pos;
        let b = buf[pos++];
        let v = b & 0x7f;
        if (b >= 0x80) {
          b = buf[pos++];
          v |= (b & 0x7f) << 7;
          if (b >= 0x80) {
            b = buf[pos++];
            v |= (b & 0x7f) << 14;
            if (b >= 0x80) {
              b = buf[pos++];
              v |= (b & 0x7f) << 21;
              if (b >= 0x80) {
                r.pos = start;
                this.readSlow(r, walker, op, i);
                pos = r.pos;
                continue;
              }
            }
          }
        }
        if (pos > end) {
          r.pos = start;
          this.readSlow(r, walker, op, i); // throws truncated
        }
        vals[slots[i]] = v;
      } else {
        r.pos = pos;
        this.readSlow(r, walker, op, i);
        pos = r.pos;
      }
    }
    r.pos = pos;
  }

  private readSlow(r: ByteReader, walker: ValueWalker, op: number, i: number): void {
    switch (op) {
      case OP_SKIP_VARINT:
        r.skipVarint();
        return;
      case OP_READ: {
        const v = r.readLong();
        this.vals[this.slots[i]] = v;
        if (v < 0) this.bigs[this.slots[i]] = r.big;
        return;
      }
      case OP_SKIP_BYTE:
        r.skip(1);
        return;
      case OP_STRING:
        this.strs[this.slots[i]] = r.readString();
        return;
      default:
        walker.skipField(r, this.cls.fields[i], 1);
    }
  }
}

anchorMaps(
  new EventCursor({ start: 0, size: 68 } as ChunkHeader),
  new EventPlan({ id: -1, name: '', superType: '', fields: [] }, new AnchorTypes(), [], 6),
);
