import type {
  Int64,
  Location,
  Mapping,
  Profile,
  ProfileFunction,
  Sample,
  ValueType,
} from '../profile.js';
import { ByteWriter } from './byte-writer.js';

/**
 * Encodes a Profile as an uncompressed pprof (profile.proto) message.
 *
 * Contract:
 * - Fields are written in field-number order; repeated scalars (location ids, values,
 *   comments) packed; zero scalars and false booleans omitted (proto3). Every string-table
 *   entry is written, `""` included, and `periodType` whenever it is defined, so
 *   `decodePprof(encodePprof(p))` deep-equals `p` for any p whose Int64 values follow the model
 *   rule (a number when safe, else a bigint).
 * - Int64 values are exact: negatives as ten-byte two's complement, bigints bit for bit.
 *   uint64 fields (addresses, mapping bounds) accept a bigint up to 2^64-1.
 * - A value that is not an integer, or is out of the 64-bit range, throws RangeError: that is a
 *   bug in the producer of `p`, not bad input.
 * - `p` is only read. The result is a fresh buffer the caller owns.
 */
export function encodePprof(p: Profile): Uint8Array {
  const w = new ByteWriter(estimateSize(p));

  for (const vt of p.sampleType) {
    w.u32(0x0a);
    const s = w.begin();
    writeValueType(w, vt);
    w.end(s);
  }

  // One small function per message kind: each is optimised on its own and stays small enough
  // to re-optimise quickly after V8 drops optimised code at a full collection.
  const samples = p.sample;
  for (let i = 0; i < samples.length; i++) writeSample(w, samples[i]);
  const mappings = p.mapping;
  for (let i = 0; i < mappings.length; i++) writeMapping(w, mappings[i]);
  const locations = p.location;
  for (let i = 0; i < locations.length; i++) writeLocation(w, locations[i]);
  const functions = p.function;
  for (let i = 0; i < functions.length; i++) writeFunction(w, functions[i]);

  const strings = p.stringTable;
  for (let i = 0; i < strings.length; i++) {
    w.u32(0x32);
    w.string(strings[i]);
  }

  writeVarintField(w, 0x38, p.dropFrames);
  writeVarintField(w, 0x40, p.keepFrames);
  writeVarintField(w, 0x48, p.timeNanos);
  writeVarintField(w, 0x50, p.durationNanos);
  if (p.periodType !== undefined) {
    w.u32(0x5a);
    const s = w.begin();
    writeValueType(w, p.periodType);
    w.end(s);
  }
  writeVarintField(w, 0x60, p.period);
  if (p.comment.length > 0) {
    w.u32(0x6a);
    const s = w.begin();
    for (const c of p.comment) w.int64(c);
    w.end(s);
  }
  writeVarintField(w, 0x70, p.defaultSampleType);
  writeVarintField(w, 0x78, p.docUrl);
  return w.finish();
}

function writeSample(w: ByteWriter, sample: Sample): void {
  w.u32(0x12);
  const s = w.begin();
  const ids = sample.locationId;
  if (ids.length > 0) {
    w.u32(0x0a);
    const s2 = w.begin();
    for (let i = 0; i < ids.length; i++) w.int64(ids[i]);
    w.end(s2);
  }
  const values = sample.value;
  if (values.length > 0) {
    w.u32(0x12);
    const s2 = w.begin();
    for (let i = 0; i < values.length; i++) w.int64(values[i]);
    w.end(s2);
  }
  const labels = sample.label;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    w.u32(0x1a);
    const s2 = w.begin();
    writeVarintField(w, 0x08, l.key);
    writeVarintField(w, 0x10, l.str);
    writeVarintField(w, 0x18, l.num);
    writeVarintField(w, 0x20, l.numUnit);
    w.end(s2);
  }
  w.end(s);
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

function writeLocation(w: ByteWriter, loc: Location): void {
  w.u32(0x22);
  const s = w.begin();
  writeVarintField(w, 0x08, loc.id);
  writeVarintField(w, 0x10, loc.mappingId);
  writeVarintField(w, 0x18, loc.address);
  const lines = loc.line;
  for (let i = 0; i < lines.length; i++) {
    const ln = lines[i];
    w.u32(0x22);
    const s2 = w.begin();
    writeVarintField(w, 0x08, ln.functionId);
    writeVarintField(w, 0x10, ln.line);
    writeVarintField(w, 0x18, ln.column);
    w.end(s2);
  }
  writeBoolField(w, 0x28, loc.isFolded);
  w.end(s);
}

function writeFunction(w: ByteWriter, f: ProfileFunction): void {
  w.u32(0x2a);
  const s = w.begin();
  writeVarintField(w, 0x08, f.id);
  writeVarintField(w, 0x10, f.name);
  writeVarintField(w, 0x18, f.systemName);
  writeVarintField(w, 0x20, f.filename);
  writeVarintField(w, 0x28, f.startLine);
  w.end(s);
}

function writeValueType(w: ByteWriter, vt: ValueType): void {
  writeVarintField(w, 0x08, vt.type);
  writeVarintField(w, 0x10, vt.unit);
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

/**
 * A close guess of the encoded size, so the output is allocated once: exact for the packed ids
 * and values that make most of a profile, per-field bounds for the rest (strings count one
 * byte per UTF-16 unit: exact for ASCII, grown once otherwise).
 */
function estimateSize(p: Profile): number {
  let n = 64;
  const strings = p.stringTable;
  for (let i = 0; i < strings.length; i++) n += strings[i].length + 2;
  const samples = p.sample;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    n += 9 + 13 * s.label.length;
    const ids = s.locationId;
    for (let j = 0; j < ids.length; j++) n += varintSize(ids[j]);
    const values = s.value;
    for (let j = 0; j < values.length; j++) n += varintSize(values[j]);
  }
  const locations = p.location;
  for (let i = 0; i < locations.length; i++) n += 16 + 12 * locations[i].line.length;
  return n + 14 * p.function.length + 40 * p.mapping.length + 8 * p.sampleType.length;
}

/** Bytes of the varint of v; bigints and negatives count the 64-bit maximum. */
function varintSize(v: Int64): number {
  if (typeof v !== 'number' || v < 0) return 10;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 6;
}
