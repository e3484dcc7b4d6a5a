import { ByteReader } from './byte-reader.js';
import { CHUNK_HEADER_SIZE, type ChunkHeader } from './chunk-header.js';
import { malformed, overLimit } from './errors.js';
import { IdIndex } from './id-index.js';
import { idTableSpares } from './spare-arrays.js';
import { DEFAULT_JFR_LIMITS, type JfrLimits } from './limits.js';
import { anchorMaps } from './anchors.js';
import type { JfrClass, TypeTable } from './metadata.js';
import { KIND_BYTE, KIND_CP, KIND_VARINT } from './metadata.js';
import { mergeGeneratedNames } from './symbols.js';
import { ValueWalker } from './value-walker.js';
import { flatShape, isFlat } from './value-walker.js';

/** id → byte offset of the entry's value; entries are decoded lazily, on first use. */
export class PoolTable {
  readonly index = new IdIndex();
  offsets = idTableSpares.take(256);
  count = 0;

  /** Empties the table for the next chunk, keeping its capacity. */
  clear(): void {
    this.index.clear();
    this.count = 0;
  }

  /**
   * Empties the table and gives its arrays to the next decode on this thread (spare-arrays.ts):
   * call it when the decode is done with the pools. Safe to call twice.
   */
  release(): void {
    this.index.release();
    // all of it: `clear` leaves the previous chunks' offsets past `count`
    this.offsets.fill(0);
    this.count = 0;
    idTableSpares.give(this.offsets);
    this.offsets = new Int32Array(0);
  }

  /** Records `id`; a later call for the same id replaces the offset. */
  add(id: number | bigint, offset: number): void {
    const s = this.index.getAny(id);
    if (s >= 0) {
      this.offsets[s] = offset;
      return;
    }
    if (this.count === this.offsets.length) {
      const o = idTableSpares.take(Math.max(256, this.count * 2));
      o.set(this.offsets);
      this.offsets.fill(0); // full: see release
      idTableSpares.give(this.offsets);
      this.offsets = o;
    }
    this.offsets[this.count] = offset;
    this.index.set(id, this.count++);
  }
}

const P_SKIP = 0;
const P_CHUNK_HEADER = 1;
const P_STACK = 2;
const P_METHOD = 3;
const P_CLASS = 4;
const P_SYMBOL = 5;
const P_STRING = 6;
const P_THREAD_STATE = 7;

const POOL_KIND: ReadonlyMap<string, number> = new Map([
  ['jdk.types.ChunkHeader', P_CHUNK_HEADER],
  ['jdk.types.StackTrace', P_STACK],
  ['jdk.types.Method', P_METHOD],
  ['java.lang.Class', P_CLASS],
  ['jdk.types.Symbol', P_SYMBOL],
  ['java.lang.String', P_STRING],
  ['jdk.types.ThreadState', P_THREAD_STATE],
]);

/**
 * Index of a field bound the way jfr-parser binds it: same name, same type, same constant-pool
 * and array flags; -1 when the field is absent or changed (its value then reads as zero/empty).
 */
function bindField(
  cls: JfrClass,
  name: string,
  type: JfrClass | undefined,
  cp: boolean,
  array: boolean,
): number {
  if (type === undefined) return -1;
  return cls.fields.findIndex(
    (f) => f.name === name && f.typeId === type.id && f.constantPool === cp && f.array === array,
  );
}

/**
 * The constant pools of one chunk (§4.6), read from every checkpoint event of the chain that starts
 * at the header's checkpoint offset. Only the pools the profile mapping needs are indexed (stack
 * traces, methods, classes, symbols, strings, thread states); all others are skipped. Entries are
 * recorded as offsets and decoded on demand, so a pool costs one pass over its bytes plus a few
 * bytes per entry, and nothing per frame.
 */
export class ConstantPools {
  readonly stackTraces: PoolTable;
  readonly methods: PoolTable;
  readonly classes: PoolTable;
  readonly symbols: PoolTable;
  readonly strings: PoolTable;
  readonly threadStates = new Map<number | bigint, string>();

  /** scratch output of `readFrames`: method id per frame (-1 → exact id in frameMethodBig) */
  frameMethod = new Float64Array(256);
  frameMethodBig: bigint[] = [];
  frameLine = new Float64Array(256);
  frameTruncated = false;
  /**
   * Frames in this chunk's stack-trace pool (the sum of their frame counts), or -1 when the frame
   * layout is not flat and they were not counted. An upper bound for the frames the mapping
   * resolves in this chunk; it is bounded by the chunk's size (every frame takes bytes).
   */
  frameTotal = 0;
  /** scratch output of `symbolRaw` */
  rawStart = 0;
  rawEnd = 0;
  /**
   * [class id, name symbol id] of the last `readMethod`, -1 when the id is above 2^53 (exact value
   * in methodBig). Held in a typed array, not in number|bigint fields: a field that sees a small
   * integer and later a large id changes representation, V8 gives the class a new hidden class,
   * and optimised code keyed to it is discarded at every GC (see anchors.ts).
   */
  readonly methodIds = new Float64Array(2);
  readonly methodBig: bigint[] = [0n, 0n];

  /**
   * Gives the tables' arrays to the next decode on this thread (PoolTable.release): call it when
   * the decode is done with these pools and every chunk's; safe to call twice.
   */
  release(): void {
    for (const t of [this.stackTraces, this.methods, this.classes, this.symbols, this.strings])
      t.release();
  }

  private readonly r: ByteReader;
  private readonly chunkEnd: number;
  /**
   * Decoded symbols/strings by pool slot, sized once the pools are read: an array first written
   * at a high index turns into a dictionary, and every later lookup pays for it.
   */
  private symbolCache: (string | undefined)[] = [];
  private stringCache: (string | undefined)[] = [];
  private resolvingString = false;

  private readonly stackCls: JfrClass;
  private readonly frameCls: JfrClass;
  private readonly methodCls: JfrClass;
  private readonly classCls: JfrClass;
  private readonly symbolCls: JfrClass;
  private readonly stringCls: JfrClass;
  private readonly stTruncated: number;
  private readonly stFrames: number;
  private readonly frMethod: number;
  private readonly frLine: number;
  private readonly frShape: Uint8Array | null;
  /** flat frames made of varints only (the JDK's and async-profiler's layout) */
  private readonly frAllVarint: boolean;
  private readonly mType: number;
  private readonly mName: number;
  private readonly cName: number;
  private readonly sString: number;

  constructor(
    private readonly buf: Uint8Array,
    chunkEnd: number,
    private readonly limits: JfrLimits,
    private readonly walker: ValueWalker,
    layout: PoolLayout,
    /** the previous chunk's pools: their tables and scratch buffers are cleared and reused */
    previous?: ConstantPools,
  ) {
    this.chunkEnd = chunkEnd;
    if (previous !== undefined) {
      this.stackTraces = previous.stackTraces;
      this.methods = previous.methods;
      this.classes = previous.classes;
      this.symbols = previous.symbols;
      this.strings = previous.strings;
      for (const t of [this.stackTraces, this.methods, this.classes, this.symbols, this.strings])
        t.clear();
      this.frameMethod = previous.frameMethod;
      this.frameLine = previous.frameLine;
    } else {
      this.stackTraces = new PoolTable();
      this.methods = new PoolTable();
      this.classes = new PoolTable();
      this.symbols = new PoolTable();
      this.strings = new PoolTable();
    }
    this.r = new ByteReader(buf, 0, chunkEnd, limits.maxStringLength);
    this.r.stringRef = (id) => this.stringById(id);
    this.stackCls = layout.stackCls;
    this.frameCls = layout.frameCls;
    this.methodCls = layout.methodCls;
    this.classCls = layout.classCls;
    this.symbolCls = layout.symbolCls;
    this.stringCls = layout.stringCls;
    this.stTruncated = layout.stTruncated;
    this.stFrames = layout.stFrames;
    this.frMethod = layout.frMethod;
    this.frLine = layout.frLine;
    this.frShape = layout.frShape;
    this.frAllVarint = layout.frShape !== null && layout.frShape.every((k) => k === 1);
    this.mType = layout.mType;
    this.mName = layout.mName;
    this.cName = layout.cName;
    this.sString = layout.sString;
  }

  /** The reader used for pool reads; its `stringRef` resolves encoding-2 strings of this chunk. */
  get reader(): ByteReader {
    return this.r;
  }

  /** Reads every checkpoint event of the chain named by the chunk header. */
  readCheckpoints(header: ChunkHeader, types: TypeTable): void {
    const r = this.r;
    const first = header.start + CHUNK_HEADER_SIZE;
    const seen = new Set<number>();
    let pos = header.start + header.checkpointOffset;
    let entries = 0;
    const kindOf = new Map<number, number>();
    for (const cls of types.byId.values()) kindOf.set(cls.id, POOL_KIND.get(cls.name) ?? P_SKIP);
    for (;;) {
      if (seen.size >= this.limits.maxCheckpoints)
        overLimitThrow(`more than ${this.limits.maxCheckpoints} checkpoints`, pos);
      if (seen.has(pos)) throw malformed('checkpoint chain loops', pos);
      seen.add(pos);
      r.at(pos, this.chunkEnd);
      const size = r.readLong();
      if (size <= 0 || pos + size > this.chunkEnd)
        throw malformed(`checkpoint event size ${size}`, pos);
      r.end = pos + size;
      const type = r.readLong();
      if (type !== 1) throw malformed(`checkpoint event has type ${type}`, pos);
      r.skipVarint(); // start time
      r.skipVarint(); // duration
      const delta = r.readSignedLong();
      r.skipVarint(); // flush flag / type mask
      const npools = r.readCount('constant pool');
      for (let p = 0; p < npools; p++) {
        const typePos = r.pos;
        const typeId = r.readLong();
        const cls = types.byId.get(typeId);
        if (cls === undefined) throw malformed(`constant pool of unknown type ${typeId}`, typePos);
        const kind = kindOf.get(typeId) as number;
        if (kind === P_CHUNK_HEADER) {
          // jfr-parser skips this pool as a raw 68-byte blob (count and entry included).
          r.skip(CHUNK_HEADER_SIZE);
          continue;
        }
        const count = r.readCount('constant');
        entries += count;
        if (entries > this.limits.maxPoolEntries)
          overLimitThrow(`more than ${this.limits.maxPoolEntries} constants`, r.pos);
        this.readPool(kind, cls, count);
      }
      if (delta === 0) break;
      pos += delta;
      if (pos < first || pos >= this.chunkEnd)
        throw malformed(`checkpoint delta ${delta} leaves the chunk`, pos);
    }
    this.symbolCache = new Array<string | undefined>(this.symbols.count).fill(undefined);
    this.stringCache = new Array<string | undefined>(this.strings.count).fill(undefined);
  }

  private readPool(kind: number, cls: JfrClass, count: number): void {
    const r = this.r;
    switch (kind) {
      case P_STACK: {
        const t = this.stackTraces;
        for (let i = 0; i < count; i++) {
          const id = r.readLong();
          t.add(id >= 0 ? id : r.big, r.pos);
          this.skipStackTrace();
        }
        return;
      }
      case P_METHOD:
      case P_CLASS:
      case P_SYMBOL:
      case P_STRING: {
        const t =
          kind === P_METHOD
            ? this.methods
            : kind === P_CLASS
              ? this.classes
              : kind === P_SYMBOL
                ? this.symbols
                : this.strings;
        for (let i = 0; i < count; i++) {
          const id = r.readLong();
          t.add(id >= 0 ? id : r.big, r.pos);
          this.skipValue(cls);
        }
        return;
      }
      case P_THREAD_STATE: {
        const nameIdx = bindField(cls, 'name', this.stringCls, false, false);
        for (let i = 0; i < count; i++) {
          const id = r.readLong();
          const key = id >= 0 ? id : r.big;
          let name = '';
          const fields = cls.fields;
          for (let f = 0; f < fields.length; f++) {
            if (f === nameIdx) name = r.readString();
            else this.walker.skipField(r, fields[f], 1);
          }
          this.threadStates.set(key, name);
        }
        return;
      }
      default:
        for (let i = 0; i < count; i++) {
          r.skipVarint();
          this.skipValue(cls);
        }
    }
  }

  /** Skips one value of `cls` as stored in a pool (a primitive, or the fields in order). */
  private skipValue(cls: JfrClass): void {
    const r = this.r;
    switch (cls.name) {
      case 'java.lang.String':
        r.skipString();
        return;
      case 'boolean':
      case 'byte':
        r.skip(1);
        return;
      case 'float':
        r.skip(4);
        return;
      case 'double':
        r.skip(8);
        return;
      case 'char':
      case 'short':
      case 'int':
      case 'long':
        r.skipVarint();
        return;
    }
    const fields = cls.fields;
    for (let f = 0; f < fields.length; f++) {
      const k = fields[f].kind;
      if (!fields[f].array && (k === KIND_VARINT || k === KIND_CP)) r.skipVarint();
      else if (!fields[f].array && k === KIND_BYTE) r.skip(1);
      else this.walker.skipField(r, fields[f], 1);
    }
  }

  private skipStackTrace(): void {
    const r = this.r;
    const fields = this.stackCls.fields;
    const shape = this.frShape;
    for (let f = 0; f < fields.length; f++) {
      if (f === this.stFrames && shape !== null) {
        const n = r.readCount('stack frame');
        if (this.frameTotal >= 0) this.frameTotal += n;
        const buf = this.buf;
        const end = r.end;
        let pos = r.pos;
        const w = shape.length;
        if (this.frAllVarint) {
          // Count varint terminators: n*w varints end at n*w bytes below 0x80, except a 9-byte
          // varint whose last byte carries 8 bits, which the run counter handles exactly.
          let need = n * w;
          // Unrolled while 9 bytes of lookahead stay inside the chunk: one compare per byte.
          const limit = end - 9;
          while (need > 0 && pos <= limit) {
            need--;
            if (buf[pos++] < 0x80) continue;
            if (buf[pos++] < 0x80) continue;
            if (buf[pos++] < 0x80) continue;
            if (buf[pos++] < 0x80) continue;
            if (buf[pos++] < 0x80) continue;
            if (buf[pos++] < 0x80) continue;
            if (buf[pos++] < 0x80) continue;
            if (buf[pos++] < 0x80) continue;
            pos++; // the 9th byte carries 8 bits
          }
          // The chunk's last bytes, checked per byte.
          let run = 0;
          while (need > 0) {
            if (pos >= end) {
              r.pos = end;
              r.skip(1); // throws truncated
            }
            const cont = buf[pos++] >>> 7;
            need -= cont ^ 1;
            run = (run + 1) & -cont;
            if (run === 8) {
              if (pos >= end) {
                r.pos = end;
                r.skip(1);
              }
              pos++;
              need--;
              run = 0;
            }
          }
        } else {
          for (let i = 0; i < n; i++) {
            for (let k = 0; k < w; k++) {
              if (shape[k] === 0) {
                pos++;
                continue;
              }
              // inline varint skip: at most 9 bytes, the 9th carries 8 bits
              let j = 0;
              while (j < 8 && pos < end && buf[pos] >= 0x80) {
                pos++;
                j++;
              }
              pos++;
            }
            if (pos > end) {
              r.pos = end;
              r.skip(1); // throws truncated
            }
          }
        }
        r.pos = pos;
      } else if (fields[f].kind === KIND_BYTE && !fields[f].array) {
        r.skip(1);
      } else {
        if (f === this.stFrames) this.frameTotal = -1;
        this.walker.skipField(r, fields[f], 1);
      }
    }
  }

  /**
   * Decodes the frames of stack-trace pool slot `slot` into `frameMethod`/`frameLine` (leaf first)
   * and returns their count. Frames keep JFR order; nothing is allocated per frame.
   */
  readFrames(slot: number): number {
    const count = this.frAllVarint ? this.readFramesFast(slot) : -1;
    return count >= 0 ? count : this.readFramesSlow(slot);
  }

  /**
   * Flat all-varint frames decoded inline; -1 (caller takes the general path) on anything unusual:
   * a varint of 8+ bytes, the buffer end near, a stack deeper than the limit.
   */
  private readFramesFast(slot: number): number {
    const buf = this.buf;
    const end = this.chunkEnd;
    let pos = this.stackTraces.offsets[slot];
    const fields = this.stackCls.fields;
    const nf = fields.length;
    const fw = (this.frShape as Uint8Array).length;
    const fm = this.frMethod;
    const fl = this.frLine;
    // a whole frame (at most 9 bytes per field) can be read without a bounds check before it
    const frameLimit = buf.length - 9 * fw;
    let truncated = false;
    let count = 0;
    for (let f = 0; f < nf; f++) {
      if (f === this.stTruncated) {
        if (pos >= end) return -1;
        truncated = buf[pos++] !== 0;
      } else if (f === this.stFrames) {
        if (pos > buf.length - 9) return -1;
        const n = fastVarint(buf, pos);
        pos = vpos;
        if (n < 0 || n > this.limits.maxStackDepth || n > end - pos) return -1;
        if (n > this.frameMethod.length) this.growFrames(n);
        const methods = this.frameMethod;
        const lines = this.frameLine;
        for (let i = 0; i < n; i++) {
          if (pos > frameLimit) return -1;
          let method = 0;
          let line = 0;
          for (let k = 0; k < fw; k++) {
            if (k !== fm && k !== fl) {
              // skipped field: one branch per byte, each predicted on its own
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
                pos++;
              continue;
            }
            // inline varint of up to 7 bytes (49 bits); longer ones take the general path
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
                    let mul = 268435456; // 2^28
                    for (let j = 0; ; j++) {
                      if (j === 3) return -1;
                      b = buf[pos++];
                      v += (b & 0x7f) * mul;
                      if (b < 0x80) break;
                      mul *= 128;
                    }
                  }
                }
              }
            }
            if (k === fm) method = v;
            else line = v >>> 0;
          }
          methods[i] = method;
          lines[i] = line;
        }
        count = n;
      } else {
        return -1;
      }
    }
    if (pos > end) return -1;
    this.frameTruncated = truncated;
    return count;
  }

  private growFrames(n: number): void {
    let cap = this.frameMethod.length;
    while (cap < n) cap *= 2;
    this.frameMethod = new Float64Array(cap);
    this.frameLine = new Float64Array(cap);
  }

  private readFramesSlow(slot: number): number {
    const r = this.r;
    r.at(this.stackTraces.offsets[slot], this.chunkEnd);
    this.frameTruncated = false;
    const fields = this.stackCls.fields;
    let count = 0;
    for (let f = 0; f < fields.length; f++) {
      if (f === this.stTruncated) {
        this.frameTruncated = r.u8() !== 0;
        if (f > this.stFrames) break;
      } else if (f === this.stFrames) {
        const n = r.readCount('stack frame');
        if (n > this.limits.maxStackDepth) overLimitThrow(`stack of ${n} frames`, r.pos);
        if (n > this.frameMethod.length) {
          let cap = this.frameMethod.length;
          while (cap < n) cap *= 2;
          this.frameMethod = new Float64Array(cap);
          this.frameLine = new Float64Array(cap);
        }
        const ffields = this.frameCls.fields;
        const fm = this.frMethod;
        const fl = this.frLine;
        for (let i = 0; i < n; i++) {
          let method = 0;
          let line = 0;
          for (let k = 0; k < ffields.length; k++) {
            if (k === fm) {
              method = r.readLong();
              if (method < 0) this.frameMethodBig[i] = r.big;
            } else if (k === fl) {
              const v = r.readLong();
              line = v >= 0 ? v >>> 0 : Number(BigInt.asUintN(32, r.big));
            } else {
              const fk = ffields[k].kind;
              if (!ffields[k].array && (fk === KIND_VARINT || fk === KIND_CP)) r.skipVarint();
              else this.walker.skipField(r, ffields[k], 2);
            }
          }
          this.frameMethod[i] = method;
          this.frameLine[i] = line;
        }
        count = n;
        if (f > this.stTruncated) break;
      } else {
        this.walker.skipField(r, fields[f], 1);
      }
    }
    return count;
  }

  /** Reads method pool slot `slot` into `methodIds` (0 when unbound). */
  readMethod(slot: number): void {
    const r = this.r;
    r.at(this.methods.offsets[slot], this.chunkEnd);
    const ids = this.methodIds;
    ids[0] = 0;
    ids[1] = 0;
    const fields = this.methodCls.fields;
    const last = Math.max(this.mType, this.mName);
    for (let f = 0; f <= last; f++) {
      if (f === this.mType || f === this.mName) {
        const k = f === this.mType ? 0 : 1;
        const v = r.readLong();
        ids[k] = v;
        if (v < 0) this.methodBig[k] = r.big;
      } else this.walker.skipField(r, fields[f], 1);
    }
  }

  /** Symbol id of the class's name, or undefined when the class is not in the pool. */
  classNameSymbol(classId: number | bigint): number | bigint | undefined {
    const slot = this.classes.index.getAny(classId);
    if (slot < 0) return undefined;
    return this.classNameSymbolAt(slot);
  }

  /** Symbol id of the name of the class in pool slot `slot` (0 when unbound). */
  classNameSymbolAt(slot: number): number | bigint {
    const r = this.r;
    r.at(this.classes.offsets[slot], this.chunkEnd);
    const fields = this.classCls.fields;
    for (let f = 0; f < this.cName; f++) this.walker.skipField(r, fields[f], 1);
    return this.cName < 0 ? 0 : r.readId();
  }

  /** The symbol's string after JVM generated-name merging; '' when unknown (as jfr-parser). */
  symbol(id: number | bigint): string {
    const slot = this.symbols.index.getAny(id);
    if (slot < 0) return '';
    const cached = this.symbolCache[slot];
    if (cached !== undefined) return cached;
    const r = this.r;
    r.at(this.symbols.offsets[slot], this.chunkEnd);
    const fields = this.symbolCls.fields;
    let s = '';
    if (this.sString >= 0) {
      for (let f = 0; f < this.sString; f++) this.walker.skipField(r, fields[f], 1);
      s = mergeGeneratedNames(r.readString());
    }
    this.symbolCache[slot] = s;
    return s;
  }

  /**
   * Locates the raw bytes of a symbol's string without decoding it: sets `rawStart`/`rawEnd` and
   * returns the encoding (0 = unknown symbol or null/empty string, 3 = UTF-8, 5 = Latin-1), or -1
   * when the string is not stored inline (pool reference, char array).
   */
  symbolRaw(id: number | bigint): number {
    this.rawStart = 0;
    this.rawEnd = 0;
    const slot = this.symbols.index.getAny(id);
    if (slot < 0 || this.sString < 0) return 0;
    const r = this.r;
    r.at(this.symbols.offsets[slot], this.chunkEnd);
    const fields = this.symbolCls.fields;
    for (let f = 0; f < this.sString; f++) this.walker.skipField(r, fields[f], 1);
    const tag = r.u8();
    if (tag === 0 || tag === 1) return 0;
    if (tag !== 3 && tag !== 5) return -1;
    const len = r.readLong();
    if (len < 0 || len > r.remaining()) return -1; // let the decoding path report it
    this.rawStart = r.pos;
    this.rawEnd = r.pos + len;
    return tag;
  }

  threadState(id: number | bigint): string | undefined {
    return this.threadStates.get(id);
  }

  private stringById(id: number | bigint): string {
    const slot = this.strings.index.getAny(id);
    if (slot < 0 || this.resolvingString) return '';
    const cached = this.stringCache[slot];
    if (cached !== undefined) return cached;
    // A pooled string is read with a reader of its own: the caller's reader is mid-value.
    const r = new ByteReader(
      this.buf,
      this.strings.offsets[slot],
      this.chunkEnd,
      this.limits.maxStringLength,
    );
    this.resolvingString = true;
    try {
      const s = r.readString();
      this.stringCache[slot] = s;
      return s;
    } finally {
      this.resolvingString = false;
    }
  }
}

/** Where the fields the mapping reads sit in the pool classes of one chunk's metadata. */
export interface PoolLayout {
  stackCls: JfrClass;
  frameCls: JfrClass;
  methodCls: JfrClass;
  classCls: JfrClass;
  symbolCls: JfrClass;
  stringCls: JfrClass;
  stTruncated: number;
  stFrames: number;
  frMethod: number;
  frLine: number;
  frShape: Uint8Array | null;
  mType: number;
  mName: number;
  cName: number;
  sString: number;
}

export function poolLayout(types: TypeTable): PoolLayout {
  const t = (name: string) => types.byName.get(name) as JfrClass; // presence checked by readMetadata
  const stackCls = t('jdk.types.StackTrace');
  const frameCls = t('jdk.types.StackFrame');
  const methodCls = t('jdk.types.Method');
  const classCls = t('java.lang.Class');
  const symbolCls = t('jdk.types.Symbol');
  const stringCls = t('java.lang.String');
  return {
    stackCls,
    frameCls,
    methodCls,
    classCls,
    symbolCls,
    stringCls,
    stTruncated: bindField(stackCls, 'truncated', t('boolean'), false, false),
    stFrames: bindField(stackCls, 'frames', frameCls, false, true),
    frMethod: bindField(frameCls, 'method', methodCls, true, false),
    frLine: bindField(frameCls, 'lineNumber', t('int'), false, false),
    frShape: isFlat(frameCls) ? flatShape(frameCls) : null,
    mType: bindField(methodCls, 'type', classCls, true, false),
    mName: bindField(methodCls, 'name', symbolCls, true, false),
    cName: bindField(classCls, 'name', symbolCls, true, false),
    sString: bindField(symbolCls, 'string', stringCls, false, false),
  };
}

/** Reads the constant pools of the chunk described by `header`. */
export function readConstantPools(
  buf: Uint8Array,
  header: ChunkHeader,
  types: TypeTable,
  limits: JfrLimits,
  walker: ValueWalker,
  previous?: ConstantPools,
): ConstantPools {
  const pools = new ConstantPools(
    buf,
    header.start + header.size,
    limits,
    walker,
    poolLayout(types),
    previous,
  );
  pools.readCheckpoints(header, types);
  return pools;
}

const anchorClass: JfrClass = { id: -1, name: '', superType: '', fields: [] };
/** An empty instance, kept to anchor the class's map (see anchors.ts). */
export const anchorPools = new ConstantPools(
  new Uint8Array(0),
  0,
  DEFAULT_JFR_LIMITS,
  new ValueWalker(0, 0),
  {
    stackCls: anchorClass,
    frameCls: anchorClass,
    methodCls: anchorClass,
    classCls: anchorClass,
    symbolCls: anchorClass,
    stringCls: anchorClass,
    stTruncated: -1,
    stFrames: -1,
    frMethod: -1,
    frLine: -1,
    frShape: null,
    mType: -1,
    mName: -1,
    cName: -1,
    sString: -1,
  },
);
anchorMaps(new PoolTable(), anchorPools);

/** out-parameter of `fastVarint`: the position after the varint */
let vpos = 0;

/**
 * Decodes the varint at `pos` when it takes at most 7 bytes (49 bits, always a safe integer),
 * setting `vpos`; -1 otherwise. The caller guarantees 9 readable bytes and checks its own end.
 */
function fastVarint(buf: Uint8Array, pos: number): number {
  let b = buf[pos++];
  if (b < 0x80) {
    vpos = pos;
    return b;
  }
  let v = b & 0x7f;
  b = buf[pos++];
  v |= (b & 0x7f) << 7;
  if (b < 0x80) {
    vpos = pos;
    return v;
  }
  b = buf[pos++];
  v |= (b & 0x7f) << 14;
  if (b < 0x80) {
    vpos = pos;
    return v;
  }
  b = buf[pos++];
  v |= (b & 0x7f) << 21;
  if (b < 0x80) {
    vpos = pos;
    return v;
  }
  let mul = 268435456; // 2^28
  for (let k = 0; k < 3; k++) {
    b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      vpos = pos;
      return v;
    }
    mul *= 128;
  }
  return -1;
}

function overLimitThrow(message: string, pos: number): never {
  throw overLimit(message, pos);
}
