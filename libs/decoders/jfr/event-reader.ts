import type { ByteReader } from './byte-reader.js';
import { CHUNK_HEADER_SIZE, type ChunkHeader } from './chunk-header.js';
import { malformed, truncated } from './errors.js';
import type { JfrClass, TypeTable } from './metadata.js';
import { KIND_BYTE, KIND_CP, KIND_STRING, KIND_VARINT } from './metadata.js';
import type { ValueWalker } from './value-walker.js';

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
    for (;;) {
      const pos = this.pos;
      if (pos >= this.chunkEnd) return -1;
      r.at(pos, this.chunkEnd);
      const size = r.readLong();
      if (size <= 0) throw malformed(`event size ${size < 0 ? r.big : size}`, pos);
      const end = pos + size;
      if (end > this.chunkEnd) throw truncated(this.chunkEnd, 'event');
      r.end = end;
      const type = r.readLong();
      this.pos = end;
      this.eventEnd = end;
      if (type > 1) return type;
    }
  }
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
 */
export class EventPlan {
  readonly vals: Float64Array;
  readonly bigs: bigint[];
  readonly strs: string[];
  private readonly slots: Int8Array;
  private readonly last: number;
  private readonly cls: JfrClass;

  constructor(cls: JfrClass, types: TypeTable, specs: readonly FieldSpec[], nslots: number) {
    this.cls = cls;
    this.vals = new Float64Array(nslots);
    this.bigs = new Array<bigint>(nslots).fill(0n);
    this.strs = new Array<string>(nslots).fill('');
    this.slots = new Int8Array(cls.fields.length).fill(-1);
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
      this.slots[i] = spec.slot;
      if (i > last) last = i;
    }
    this.last = last;
  }

  read(r: ByteReader, walker: ValueWalker): void {
    this.vals.fill(0);
    const fields = this.cls.fields;
    const slots = this.slots;
    for (let i = 0; i <= this.last; i++) {
      const f = fields[i];
      const slot = slots[i];
      const k = f.kind;
      if (slot >= 0) {
        if (k === KIND_STRING) {
          this.strs[slot] = r.readString();
        } else {
          const v = r.readLong();
          this.vals[slot] = v;
          if (v < 0) this.bigs[slot] = r.big;
        }
      } else if (f.array) {
        walker.skipField(r, f, 1);
      } else if (k === KIND_VARINT || k === KIND_CP) {
        r.skipVarint();
      } else if (k === KIND_BYTE) {
        r.skip(1);
      } else {
        walker.skipField(r, f, 1);
      }
    }
  }
}
