import type { ByteReader } from './byte-reader.js';
import { CHUNK_HEADER_SIZE, type ChunkHeader } from './chunk-header.js';
import { malformed, truncated } from './errors.js';
import type { JfrClass, TypeTable } from './metadata.js';
import { KIND_BYTE, KIND_CP, KIND_STRING, KIND_VARINT } from './metadata.js';
import type { ValueWalker } from './value-walker.js';
import { anchorMaps } from './anchors.js';
import { TypeTable as AnchorTypes } from './metadata.js';
import {
  OP_READ,
  OP_SKIP_BYTE,
  OP_SKIP_VARINT,
  OP_STRING,
  OP_WALK,
  compileFieldReader,
  type CompiledFieldReader,
} from './field-reader-compiler.js';

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

function throwTruncated(r: ByteReader, end: number): never {
  r.pos = end;
  r.skip(1); // throws truncated at the event end
  throw truncated(end, 'event');
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

/**
 * A compiled reader for one event type of one chunk: reads the wanted fields into `vals`/`strs`,
 * skips the rest, and stops after the last wanted field (the cursor steps to the next record by
 * size). Unbound fields read as 0 / ''. Integer values above 2^53-1 read as -1 with the exact value
 * in `bigs[slot]`.
 *
 * The field list is turned into one op per field so the hot loop touches only typed arrays and the
 * input bytes; varints are decoded inline with a bounds-check-free path when 9 bytes remain. Plans
 * made only of varint fields (nearly all events) also get a straight-line reader generated for
 * their layout (field-reader-compiler.ts); the op loop remains the general path.
 */
export class EventPlan {
  readonly vals: Float64Array;
  readonly bigs: bigint[];
  readonly strs: string[];
  private readonly ops: Uint8Array;
  private readonly slots: Int8Array;
  private readonly n: number;
  private readonly cls: JfrClass;
  /** the generated reader for this layout, or null (op loop only) */
  private readonly compiled: CompiledFieldReader | null;

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
    this.compiled = compileFieldReader(this.ops, slots);
  }

  /** Reads the bound fields of the event at `r.pos` (`r.end` = its end). Small, to be inlined. */
  read(r: ByteReader, walker: ValueWalker): void {
    const compiled = this.compiled;
    if (compiled !== null && r.pos + 9 * this.n <= r.buf.length) {
      const p = compiled(r.buf, r.pos, r.end, this.vals);
      if (p >= 0) {
        r.pos = p;
        return;
      }
      // a long value or an overrun: the op loop reads the event again and decides
    }
    this.readOps(r, walker);
  }

  /** The general path: the op loop. */
  private readOps(r: ByteReader, walker: ValueWalker): void {
    const buf = r.buf;
    const end = r.end;
    // Fast paths may look up to 9 bytes ahead within the buffer; the event end is checked once,
    // after the last field (and before any slow op): a field that overran it only ever wrote a
    // value the caller never sees, because the overrun throws.
    const limit = buf.length - 9;
    const ops = this.ops;
    const slots = this.slots;
    const vals = this.vals;
    const n = this.n;
    let pos = r.pos;
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      if (pos > limit) {
        pos = this.readSlowAt(r, walker, op, i, pos, end);
      } else if (op === OP_SKIP_VARINT) {
        // One branch per byte, unrolled: each has its own prediction, so a field whose length
        // rarely changes (a timestamp is 7-8 bytes, a thread id 1-2) costs no mispredictions.
        if (
          buf[pos++] >= 0x80 &&
          buf[pos++] >= 0x80 &&
          buf[pos++] >= 0x80 &&
          buf[pos++] >= 0x80 &&
          buf[pos++] >= 0x80 &&
          buf[pos++] >= 0x80 &&
          buf[pos++] >= 0x80 &&
          buf[pos++] >= 0x80
        )
          pos++; // the 9th byte carries 8 bits
      } else if (op === OP_READ) {
        // values of up to four bytes (28 bits) inline: ids, states, sizes, durations under 0.27 s
        let b = buf[pos];
        let v = b & 0x7f;
        if (b < 0x80) {
          pos += 1;
        } else {
          b = buf[pos + 1];
          v |= (b & 0x7f) << 7;
          if (b < 0x80) {
            pos += 2;
          } else {
            b = buf[pos + 2];
            v |= (b & 0x7f) << 14;
            if (b < 0x80) {
              pos += 3;
            } else {
              b = buf[pos + 3];
              v |= (b & 0x7f) << 21;
              if (b >= 0x80) {
                pos = this.readSlowAt(r, walker, op, i, pos, end);
                continue;
              }
              pos += 4;
            }
          }
        }
        vals[slots[i]] = v;
      } else {
        pos = this.readSlowAt(r, walker, op, i, pos, end);
      }
    }
    if (pos > end) throwTruncated(r, end);
    r.pos = pos;
  }

  /** The general path for field `i` at `pos`; returns the position after it. */
  private readSlowAt(
    r: ByteReader,
    walker: ValueWalker,
    op: number,
    i: number,
    pos: number,
    end: number,
  ): number {
    if (pos > end) throwTruncated(r, end);
    r.pos = pos;
    this.readSlow(r, walker, op, i);
    return r.pos;
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
