import type { FlatProfile, Int64Column } from '../flat/flat-profile.js';
import type { Int64, Mapping, ValueType } from '../profile.js';
import { ByteWriter } from './byte-writer.js';

/**
 * Encodes a flat profile as an uncompressed pprof (profile.proto) message: the bytes
 * `encodePprof(flatToProfile(f))` gives, without building the objects.
 *
 * Contract: as `encodePprof` (field-number order, packed repeated scalars, proto3 defaults
 * omitted, every string written, `periodType` whenever defined, exact int64 values; a value
 * outside the model throws RangeError). `f` is only read; the result is a fresh buffer.
 */
export function encodePprofFlat(f: FlatProfile): Uint8Array {
  const w = new ByteWriter(estimateSize(f));

  for (const vt of f.sampleType) {
    w.u32(0x0a);
    const s = w.begin();
    writeValueType(w, vt);
    w.end(s);
  }
  writeSamples(w, f);
  for (let i = 0; i < f.mapping.length; i++) writeMapping(w, f.mapping[i]);
  writeLocations(w, f);
  writeFunctions(w, f);

  const strings = f.stringTable;
  for (let i = 0; i < strings.length; i++) {
    w.u32(0x32);
    w.string(strings[i]);
  }

  writeVarintField(w, 0x38, f.dropFrames);
  writeVarintField(w, 0x40, f.keepFrames);
  writeVarintField(w, 0x48, f.timeNanos);
  writeVarintField(w, 0x50, f.durationNanos);
  if (f.periodType !== undefined) {
    w.u32(0x5a);
    const s = w.begin();
    writeValueType(w, f.periodType);
    w.end(s);
  }
  writeVarintField(w, 0x60, f.period);
  if (f.comment.length > 0) {
    w.u32(0x6a);
    const s = w.begin();
    for (const c of f.comment) w.int64(c);
    w.end(s);
  }
  writeVarintField(w, 0x70, f.defaultSampleType);
  writeVarintField(w, 0x78, f.docUrl);
  return w.finish();
}

function writeSamples(w: ByteWriter, f: FlatProfile): void {
  const s = f.samples;
  const { locStart, loc, valStart, val, labStart, labKey, labStr, labNum, labUnit } = s;
  for (let i = 0; i < s.count; i++) {
    w.u32(0x12);
    const m = w.begin();
    const l0 = locStart[i];
    const l1 = locStart[i + 1];
    if (l1 > l0) {
      w.u32(0x0a);
      const s2 = w.begin();
      for (let k = l0; k < l1; k++) w.int64(loc[k]);
      w.end(s2);
    }
    const v0 = valStart[i];
    const v1 = valStart[i + 1];
    if (v1 > v0) {
      w.u32(0x12);
      const s2 = w.begin();
      for (let k = v0; k < v1; k++) writeInt64(w, val, k);
      w.end(s2);
    }
    for (let j = labStart[i]; j < labStart[i + 1]; j++) {
      w.u32(0x1a);
      const s2 = w.begin();
      writeVarintField(w, 0x08, labKey[j]);
      writeVarintField(w, 0x10, labStr[j]);
      writeColumnField(w, 0x18, labNum, j);
      writeVarintField(w, 0x20, labUnit[j]);
      w.end(s2);
    }
    w.end(m);
  }
}

function writeMapping(w: ByteWriter, m: Mapping): void {
  w.u32(0x1a);
  const s = w.begin();
  writeVarintField(w, 0x08, m.id);
  writeVarintField(w, 0x10, m.memoryStart);
  writeVarintField(w, 0x18, m.memoryLimit);
  writeVarintField(w, 0x20, m.fileOffset);
  writeVarintField(w, 0x28, m.filename);
  writeVarintField(w, 0x30, m.buildId);
  writeBoolField(w, 0x38, m.hasFunctions);
  writeBoolField(w, 0x40, m.hasFilenames);
  writeBoolField(w, 0x48, m.hasLineNumbers);
  writeBoolField(w, 0x50, m.hasInlineFrames);
  w.end(s);
}

function writeLocations(w: ByteWriter, f: FlatProfile): void {
  const L = f.locations;
  for (let i = 0; i < L.count; i++) {
    w.u32(0x22);
    const s = w.begin();
    writeVarintField(w, 0x08, L.id[i]);
    writeVarintField(w, 0x10, L.mapping[i]);
    writeColumnField(w, 0x18, L.address, i);
    for (let j = L.lineStart[i]; j < L.lineStart[i + 1]; j++) {
      w.u32(0x22);
      const s2 = w.begin();
      writeVarintField(w, 0x08, L.lineFunction[j]);
      writeColumnField(w, 0x10, L.lineLine, j);
      writeColumnField(w, 0x18, L.lineColumn, j);
      w.end(s2);
    }
    writeBoolField(w, 0x28, L.folded[i] !== 0);
    w.end(s);
  }
}

function writeFunctions(w: ByteWriter, f: FlatProfile): void {
  const F = f.functions;
  for (let i = 0; i < F.count; i++) {
    w.u32(0x2a);
    const s = w.begin();
    writeVarintField(w, 0x08, F.id[i]);
    writeVarintField(w, 0x10, F.name[i]);
    writeVarintField(w, 0x18, F.systemName[i]);
    writeVarintField(w, 0x20, F.filename[i]);
    writeColumnField(w, 0x28, F.startLine, i);
    w.end(s);
  }
}

function writeValueType(w: ByteWriter, vt: ValueType): void {
  writeVarintField(w, 0x08, vt.type);
  writeVarintField(w, 0x10, vt.unit);
}

/** Writes slot i of an int64 column as a bare varint. */
function writeInt64(w: ByteWriter, c: Int64Column, i: number): void {
  const x = c.v[i];
  w.int64(x === x ? x : (c.big as Map<number, bigint>).get(i)!);
}

/** Writes `tag, c[i]` unless it is zero. */
function writeColumnField(w: ByteWriter, tag: number, c: Int64Column, i: number): void {
  const x = c.v[i];
  if (x === 0) return;
  w.u32(tag);
  w.int64(x === x ? x : (c.big as Map<number, bigint>).get(i)!);
}

/** Writes `tag, v` unless v is zero (proto3 omits defaults). `tag` is a one-byte tag. */
function writeVarintField(w: ByteWriter, tag: number, v: Int64): void {
  if (v === 0) return;
  w.u32(tag);
  w.int64(v);
}

function writeBoolField(w: ByteWriter, tag: number, v: boolean): void {
  if (!v) return;
  w.u32(tag);
  w.u32(1);
}

/** A close guess of the encoded size (see encodePprof's): exact for packed ids and values. */
function estimateSize(f: FlatProfile): number {
  let n = 64;
  const strings = f.stringTable;
  for (let i = 0; i < strings.length; i++) n += strings[i].length + 2;
  const s = f.samples;
  n += 9 * s.count + 13 * s.labStart[s.count];
  const locs = s.loc;
  for (let k = 0, e = s.locStart[s.count]; k < e; k++) n += varintSize(locs[k]);
  const vals = s.val.v;
  for (let k = 0, e = s.valStart[s.count]; k < e; k++) n += varintSize(vals[k]);
  const L = f.locations;
  n += 16 * L.count + 12 * L.lineStart[L.count];
  return n + 14 * f.functions.count + 40 * f.mapping.length + 8 * f.sampleType.length;
}

/** Bytes of the varint of v; big slots (NaN) and negatives count the 64-bit maximum. */
function varintSize(v: number): number {
  if (!(v >= 0)) return 10;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 6;
}
