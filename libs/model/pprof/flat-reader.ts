import {
  flatFunctions,
  flatLocations,
  flatSamples,
  growF64,
  growInt64,
  setInt64,
  type FlatFunctions,
  type FlatLocations,
  type FlatProfile,
  type FlatSamples,
} from '../flat/flat-profile.js';
import type { Int64, Mapping, ValueType } from '../profile.js';
import { ByteReader } from './byte-reader.js';
import { PprofDecodeError } from './errors.js';
import { PPROF_FIELDS } from './fields.js';
import type { PprofDecodeLimits } from './profile-reader.js';

// Tags (field number << 3 | wire type) of profile.proto, as read by ByteReader.tag().
const VARINT = 0;
const LEN = 2;
const t = (field: number, wire: number): number => (field << 3) | wire;

const P_SAMPLE_TYPE = t(1, LEN);
const P_SAMPLE = t(2, LEN);
const P_MAPPING = t(3, LEN);
const P_LOCATION = t(4, LEN);
const P_FUNCTION = t(5, LEN);
const P_STRING = t(6, LEN);
const P_DROP_FRAMES = t(7, VARINT);
const P_KEEP_FRAMES = t(8, VARINT);
const P_TIME = t(9, VARINT);
const P_DURATION = t(10, VARINT);
const P_PERIOD_TYPE = t(11, LEN);
const P_PERIOD = t(12, VARINT);
const P_COMMENT = t(13, VARINT);
const P_COMMENT_PACKED = t(13, LEN);
const P_DEFAULT_SAMPLE_TYPE = t(14, VARINT);
const P_DOC_URL = t(15, VARINT);

const F1_VARINT = t(1, VARINT);
const F1_LEN = t(1, LEN);
const F2_VARINT = t(2, VARINT);
const F2_LEN = t(2, LEN);
const F3_VARINT = t(3, VARINT);
const F3_LEN = t(3, LEN);
const F4_VARINT = t(4, VARINT);
const F4_LEN = t(4, LEN);
const F5_VARINT = t(5, VARINT);
const F6_VARINT = t(6, VARINT);
const F7_VARINT = t(7, VARINT);
const F8_VARINT = t(8, VARINT);
const F9_VARINT = t(9, VARINT);
const F10_VARINT = t(10, VARINT);

const NO_LIMIT = Number.POSITIVE_INFINITY;

/**
 * Decodes an uncompressed pprof (profile.proto) message in one pass into the flat model.
 *
 * Contract:
 * - Every field of profile.proto is read; repeated scalars are accepted packed and unpacked,
 *   in any mix. Unknown fields are skipped by wire type; groups and invalid wire types are
 *   malformed, as is a known field sent with the wrong wire type.
 * - int64 fields come back exact (negatives negative; outside ±(2^53-1) in the column's `big`
 *   map). uint64 fields the model keeps as `Int64` (addresses, mapping bounds and offsets) are
 *   read unsigned. Ids must be ≤ 2^53-1.
 * - The string table holds exactly the strings on the wire (`[]` when none); every entry must be
 *   valid UTF-8. No reference (string index, id) is checked: that is validation's job.
 * - Anything wrong with the bytes throws `PprofDecodeError`; nothing else escapes for any input.
 * - `bytes` is only read, never retained: the result shares no memory with it.
 */
export function decodePprofFlat(bytes: Uint8Array, limits: PprofDecodeLimits = {}): FlatProfile {
  const maxSamples = limits.maxSamples ?? NO_LIMIT;
  const maxLocations = limits.maxLocations ?? NO_LIMIT;
  const maxFunctions = limits.maxFunctions ?? NO_LIMIT;
  const maxMappings = limits.maxMappings ?? NO_LIMIT;
  const maxStrings = limits.maxStrings ?? NO_LIMIT;
  const maxLocationsPerSample = limits.maxLocationsPerSample ?? NO_LIMIT;
  const maxLabelsPerSample = limits.maxLabelsPerSample ?? NO_LIMIT;

  const r = new ByteReader(bytes);
  const end = bytes.length;
  // A skim over the top-level fields first (tags and lengths only, about 3 bytes read per
  // field): it enforces the count limits before anything is built, and sizes the columns: a
  // sample's location ids and values take at least a byte each, so the bytes of the sample
  // messages bound them (halved: two-byte varints are the common case for ids).
  let nSample = 0;
  let sampleBytes = 0;
  let nLocation = 0;
  let nFunction = 0;
  let nString = 0;
  let nMapping = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case P_SAMPLE: {
        if (++nSample > maxSamples) limitExceeded(r, 'maxSamples', maxSamples);
        const e = r.delimited(end);
        sampleBytes += e - r.pos;
        r.pos = e;
        continue;
      }
      case P_LOCATION:
        if (++nLocation > maxLocations) limitExceeded(r, 'maxLocations', maxLocations);
        break;
      case P_FUNCTION:
        if (++nFunction > maxFunctions) limitExceeded(r, 'maxFunctions', maxFunctions);
        break;
      case P_STRING:
        if (++nString > maxStrings) limitExceeded(r, 'maxStrings', maxStrings);
        break;
      case P_MAPPING:
        if (++nMapping > maxMappings) limitExceeded(r, 'maxMappings', maxMappings);
        break;
    }
    // a wire type no field takes (3, 6, 7) on a known field is Go's wrong-wireType refusal,
    // as in the decoding pass below; anything else wrong there is found there
    const wire = tag & 7;
    if (wire === 3 || wire > 5) r.skipUnknown(tag, end, PPROF_FIELDS.Profile);
    r.skip(wire, end);
  }
  r.pos = 0;

  const sampleType: ValueType[] = [];
  const samples = flatSamples(nSample, sampleBytes >> 1, nSample, 0);
  const mapping = new Array<Mapping>(nMapping);
  const locations = flatLocations(nLocation, nLocation);
  const functions = flatFunctions(nFunction);
  const stringTable = new Array<string>(nString);
  const comment: number[] = [];
  const p: FlatProfile = {
    sampleType,
    mapping,
    stringTable,
    dropFrames: 0,
    keepFrames: 0,
    timeNanos: 0,
    durationNanos: 0,
    periodType: undefined,
    period: 0,
    comment,
    defaultSampleType: 0,
    docUrl: 0,
    samples,
    locations,
    functions,
  };
  let iString = 0;
  let iMapping = 0;

  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case P_SAMPLE:
        readSample(r, r.delimited(end), samples, maxLocationsPerSample, maxLabelsPerSample);
        break;
      case P_LOCATION:
        readLocation(r, r.delimited(end), locations);
        break;
      case P_FUNCTION:
        readFunction(r, r.delimited(end), functions);
        break;
      case P_STRING:
        stringTable[iString++] = r.utf8(r.delimited(end));
        break;
      case P_MAPPING:
        mapping[iMapping++] = readMapping(r, r.delimited(end));
        break;
      case P_SAMPLE_TYPE:
        sampleType.push(readValueType(r, r.delimited(end), { type: 0, unit: 0 }));
        break;
      case P_DROP_FRAMES:
        p.dropFrames = r.int(end);
        break;
      case P_KEEP_FRAMES:
        p.keepFrames = r.int(end);
        break;
      case P_TIME:
        p.timeNanos = r.int64(end);
        break;
      case P_DURATION:
        p.durationNanos = r.int64(end);
        break;
      case P_PERIOD_TYPE:
        // A repeated singular message merges into the one already read (protobuf semantics).
        p.periodType = readValueType(r, r.delimited(end), p.periodType ?? { type: 0, unit: 0 });
        break;
      case P_PERIOD:
        p.period = r.int64(end);
        break;
      case P_COMMENT:
        comment.push(r.int(end));
        break;
      case P_COMMENT_PACKED: {
        const e = r.delimited(end);
        while (r.pos < e) comment.push(r.int(e));
        break;
      }
      case P_DEFAULT_SAMPLE_TYPE:
        p.defaultSampleType = r.int(end);
        break;
      case P_DOC_URL:
        p.docUrl = r.int(end);
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Profile);
    }
  }
  return p;
}

function limitExceeded(r: ByteReader, name: keyof PprofDecodeLimits, value: number): never {
  throw new PprofDecodeError('limit', `profile exceeds ${name}=${value}`, r.pos, name);
}

function readValueType(r: ByteReader, end: number, vt: ValueType): ValueType {
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === F1_VARINT) vt.type = r.int(end);
    else if (tag === F2_VARINT) vt.unit = r.int(end);
    else r.skipUnknown(tag, end, PPROF_FIELDS.ValueType);
  }
  return vt;
}

function readSample(
  r: ByteReader,
  end: number,
  s: FlatSamples,
  maxLocationsPerSample: number,
  maxLabelsPerSample: number,
): void {
  const i = s.count;
  if (i + 2 > s.locStart.length) growStarts(s, i + 2);
  const l0 = s.locStart[i];
  const v0 = s.valStart[i];
  const b0 = s.labStart[i];
  let nl = l0;
  let nv = v0;
  let nb = b0;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case F1_LEN: {
        const e = r.delimited(end);
        // one slot per byte is always enough
        if (nl + (e - r.pos) > s.loc.length) s.loc = growF64(s.loc, nl + (e - r.pos));
        nl = r.packedUintF64(e, s.loc, nl, 'location id');
        if (nl - l0 > maxLocationsPerSample) {
          limitExceeded(r, 'maxLocationsPerSample', maxLocationsPerSample);
        }
        break;
      }
      case F2_LEN: {
        const e = r.delimited(end);
        if (nv + (e - r.pos) > s.val.v.length) growInt64(s.val, nv + (e - r.pos));
        nv = r.packedInt64Col(e, s.val, nv);
        break;
      }
      case F3_LEN:
        if (nb - b0 >= maxLabelsPerSample) {
          limitExceeded(r, 'maxLabelsPerSample', maxLabelsPerSample);
        }
        if (nb + 1 > s.labKey.length) growLabels(s, nb + 1);
        readLabel(r, r.delimited(end), s, nb++);
        break;
      case F1_VARINT:
        if (nl + 1 > s.loc.length) s.loc = growF64(s.loc, nl + 1);
        s.loc[nl++] = r.uint(end, 'location id');
        if (nl - l0 > maxLocationsPerSample) {
          limitExceeded(r, 'maxLocationsPerSample', maxLocationsPerSample);
        }
        break;
      case F2_VARINT:
        if (nv + 1 > s.val.v.length) growInt64(s.val, nv + 1);
        setInt64(s.val, nv++, r.int64(end));
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Sample);
    }
  }
  s.locStart[i + 1] = nl;
  s.valStart[i + 1] = nv;
  s.labStart[i + 1] = nb;
  s.count = i + 1;
}

function growStarts(s: FlatSamples, n: number): void {
  const grow = (a: Int32Array): Int32Array => {
    const b = new Int32Array(Math.max(n, a.length * 2));
    b.set(a);
    return b;
  };
  s.locStart = grow(s.locStart);
  s.valStart = grow(s.valStart);
  s.labStart = grow(s.labStart);
}

function growLabels(s: FlatSamples, n: number): void {
  s.labKey = growF64(s.labKey, n);
  s.labStr = growF64(s.labStr, n);
  growInt64(s.labNum, n);
  s.labUnit = growF64(s.labUnit, n);
}

function readLabel(r: ByteReader, end: number, s: FlatSamples, j: number): void {
  let key = 0;
  let str = 0;
  let num: Int64 = 0;
  let numUnit = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case F1_VARINT:
        key = r.int(end);
        break;
      case F2_VARINT:
        str = r.int(end);
        break;
      case F3_VARINT:
        num = r.int64(end);
        break;
      case F4_VARINT:
        numUnit = r.int(end);
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Label);
    }
  }
  s.labKey[j] = key;
  s.labStr[j] = str;
  setInt64(s.labNum, j, num);
  s.labUnit[j] = numUnit;
}

function readMapping(r: ByteReader, end: number): Mapping {
  const m: Mapping = {
    id: 0,
    memoryStart: 0,
    memoryLimit: 0,
    fileOffset: 0,
    filename: 0,
    buildId: 0,
    hasFunctions: false,
    hasFilenames: false,
    hasLineNumbers: false,
    hasInlineFrames: false,
  };
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case F1_VARINT:
        m.id = r.uint(end, 'mapping id');
        break;
      case F2_VARINT:
        m.memoryStart = r.uint64(end);
        break;
      case F3_VARINT:
        m.memoryLimit = r.uint64(end);
        break;
      case F4_VARINT:
        m.fileOffset = r.uint64(end);
        break;
      case F5_VARINT:
        m.filename = r.int(end);
        break;
      case F6_VARINT:
        m.buildId = r.int(end);
        break;
      case F7_VARINT:
        m.hasFunctions = r.bool(end);
        break;
      case F8_VARINT:
        m.hasFilenames = r.bool(end);
        break;
      case F9_VARINT:
        m.hasLineNumbers = r.bool(end);
        break;
      case F10_VARINT:
        m.hasInlineFrames = r.bool(end);
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Mapping);
    }
  }
  return m;
}

function readLocation(r: ByteReader, end: number, l: FlatLocations): void {
  const i = l.count;
  if (i === l.id.length) growLocations(l, i + 1);
  const j0 = l.lineStart[i];
  let nj = j0;
  let id = 0;
  let mappingId = 0;
  let address: Int64 = 0;
  let folded = false;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case F1_VARINT:
        id = r.uint(end, 'location id');
        break;
      case F2_VARINT:
        mappingId = r.uint(end, 'mapping id');
        break;
      case F3_VARINT:
        address = r.uint64(end);
        break;
      case F4_LEN:
        if (nj + 1 > l.lineFunction.length) growLines(l, nj + 1);
        readLine(r, r.delimited(end), l, nj++);
        break;
      case F5_VARINT:
        folded = r.bool(end);
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Location);
    }
  }
  l.id[i] = id;
  l.mapping[i] = mappingId;
  setInt64(l.address, i, address);
  l.folded[i] = folded ? 1 : 0;
  l.lineStart[i + 1] = nj;
  l.count = i + 1;
}

function growLocations(l: FlatLocations, n: number): void {
  const m = Math.max(n, l.id.length * 2, 16);
  l.id = growF64(l.id, m);
  l.mapping = growF64(l.mapping, m);
  growInt64(l.address, m);
  const f = new Uint8Array(m);
  f.set(l.folded);
  l.folded = f;
  const s = new Int32Array(m + 1);
  s.set(l.lineStart);
  l.lineStart = s;
}

function growLines(l: FlatLocations, n: number): void {
  l.lineFunction = growF64(l.lineFunction, n);
  growInt64(l.lineLine, n);
  growInt64(l.lineColumn, n);
}

function readLine(r: ByteReader, end: number, l: FlatLocations, j: number): void {
  let functionId = 0;
  let line: Int64 = 0;
  let column: Int64 = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case F1_VARINT:
        functionId = r.uint(end, 'function id');
        break;
      case F2_VARINT:
        line = r.int64(end);
        break;
      case F3_VARINT:
        column = r.int64(end);
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Line);
    }
  }
  l.lineFunction[j] = functionId;
  setInt64(l.lineLine, j, line);
  setInt64(l.lineColumn, j, column);
}

function readFunction(r: ByteReader, end: number, f: FlatFunctions): void {
  const i = f.count;
  if (i === f.id.length) {
    const m = Math.max(16, i * 2);
    f.id = growF64(f.id, m);
    f.name = growF64(f.name, m);
    f.systemName = growF64(f.systemName, m);
    f.filename = growF64(f.filename, m);
    growInt64(f.startLine, m);
  }
  let id = 0;
  let name = 0;
  let systemName = 0;
  let filename = 0;
  let startLine: Int64 = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case F1_VARINT:
        id = r.uint(end, 'function id');
        break;
      case F2_VARINT:
        name = r.int(end);
        break;
      case F3_VARINT:
        systemName = r.int(end);
        break;
      case F4_VARINT:
        filename = r.int(end);
        break;
      case F5_VARINT:
        startLine = r.int64(end);
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Function);
    }
  }
  f.id[i] = id;
  f.name[i] = name;
  f.systemName[i] = systemName;
  f.filename[i] = filename;
  setInt64(f.startLine, i, startLine);
  f.count = i + 1;
}
