import type {
  Int64,
  Label,
  Line,
  Location,
  Mapping,
  Profile,
  ProfileFunction,
  Sample,
  ValueType,
} from '../profile.js';
import { ByteReader } from './byte-reader.js';
import { PprofDecodeError } from './errors.js';
import { PPROF_FIELDS } from './fields.js';

/**
 * Element-count caps checked while decoding, so an oversized profile fails fast instead of
 * being materialised first. Absent means unlimited (the input's byte size still bounds every
 * count). Exceeding one throws `PprofDecodeError` kind `limit` with `limit` set to the key.
 */
export interface PprofDecodeLimits {
  maxSamples?: number;
  maxLocations?: number;
  maxFunctions?: number;
  maxMappings?: number;
  maxStrings?: number;
  /** location ids in one sample */
  maxLocationsPerSample?: number;
  /** labels on one sample */
  maxLabelsPerSample?: number;
}

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
 * Decodes an uncompressed pprof (profile.proto) message in one pass.
 *
 * Contract:
 * - Every field of profile.proto is read; repeated scalars are accepted packed and unpacked,
 *   in any mix. Unknown fields are skipped by wire type; groups and invalid wire types are
 *   malformed, as is a known field sent with the wrong wire type.
 * - int64 fields come back exact as `Int64` (negatives negative; bigint only outside
 *   ±(2^53-1)). uint64 fields the model types as `Int64` (addresses, mapping bounds and
 *   offsets) are read unsigned. Ids the model types as `number` must be ≤ 2^53-1.
 * - The string table holds exactly the strings on the wire (`[]` when none); every entry must be
 *   valid UTF-8. No reference (string index, id) is checked: that is validation's job.
 * - Anything wrong with the bytes throws `PprofDecodeError`; nothing else escapes for any input.
 * - `bytes` is only read, never retained: the result shares no memory with it.
 */
export function decodePprof(bytes: Uint8Array, limits: PprofDecodeLimits = {}): Profile {
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
  // field): it enforces the count limits before anything is built, and sizes the big arrays
  // exactly, which spares the garbage of growing them by push (about 3 MB on large.cpu).
  let nSample = 0;
  let nLocation = 0;
  let nFunction = 0;
  let nString = 0;
  let nMapping = 0;
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case P_SAMPLE:
        if (++nSample > maxSamples) limitExceeded(r, 'maxSamples', maxSamples);
        break;
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
  const sample = new Array<Sample>(nSample);
  const mapping = new Array<Mapping>(nMapping);
  const location = new Array<Location>(nLocation);
  const fn = new Array<ProfileFunction>(nFunction);
  const stringTable = new Array<string>(nString);
  const comment: number[] = [];
  const p: Profile = {
    sampleType,
    sample,
    mapping,
    location,
    function: fn,
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
  };
  let iSample = 0;
  let iLocation = 0;
  let iFunction = 0;
  let iString = 0;
  let iMapping = 0;

  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case P_SAMPLE: {
        const e = r.delimited(end);
        sample[iSample++] = readSample(r, e, maxLocationsPerSample, maxLabelsPerSample);
        break;
      }
      case P_LOCATION:
        location[iLocation++] = readLocation(r, r.delimited(end));
        break;
      case P_FUNCTION:
        fn[iFunction++] = readFunction(r, r.delimited(end));
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
  maxLocationsPerSample: number,
  maxLabelsPerSample: number,
): Sample {
  let locationId = EMPTY_IDS;
  let value = EMPTY_VALUES;
  const label: Label[] = [];
  while (r.pos < end) {
    const tag = r.tag(end);
    switch (tag) {
      case F1_LEN: {
        const e = r.delimited(end);
        // Sized exactly from the varint terminators: growth by push over-allocates and the
        // slack is what the scavenger then copies.
        const n = countVarints(r.buf, r.pos, e);
        if (locationId === EMPTY_IDS) {
          locationId = new Array<number>(n);
          r.packedUint(e, locationId, 0, 'location id');
        } else {
          const at = locationId.length;
          locationId.length = at + n;
          r.packedUint(e, locationId, at, 'location id');
        }
        if (locationId.length > maxLocationsPerSample) {
          limitExceeded(r, 'maxLocationsPerSample', maxLocationsPerSample);
        }
        break;
      }
      case F2_LEN: {
        const e = r.delimited(end);
        const n = countVarints(r.buf, r.pos, e);
        if (value === EMPTY_VALUES) {
          value = new Array<Int64>(n);
          r.packedInt64(e, value, 0);
        } else {
          const at = value.length;
          value.length = at + n;
          r.packedInt64(e, value, at);
        }
        break;
      }
      case F3_LEN:
        if (label.length >= maxLabelsPerSample) {
          limitExceeded(r, 'maxLabelsPerSample', maxLabelsPerSample);
        }
        label.push(readLabel(r, r.delimited(end)));
        break;
      case F1_VARINT:
        if (locationId === EMPTY_IDS) locationId = [];
        locationId.push(r.uint(end, 'location id'));
        if (locationId.length > maxLocationsPerSample) {
          limitExceeded(r, 'maxLocationsPerSample', maxLocationsPerSample);
        }
        break;
      case F2_VARINT:
        if (value === EMPTY_VALUES) value = [];
        value.push(r.int64(end));
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Sample);
    }
  }
  if (locationId === EMPTY_IDS) locationId = [];
  if (value === EMPTY_VALUES) value = [];
  return { locationId, value, label };
}

// Sentinels for "no array yet"; never handed out (readSample replaces them before returning).
const EMPTY_IDS: number[] = [];
const EMPTY_VALUES: Int64[] = [];

/** Number of varints that end in `[pos, end)` (bytes without the continuation bit). */
function countVarints(buf: Uint8Array, pos: number, end: number): number {
  let n = 0;
  for (let i = pos; i < end; i++) n += (buf[i] >>> 7) ^ 1;
  return n;
}

function readLabel(r: ByteReader, end: number): Label {
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
  return { key, str, num, numUnit };
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

function readLocation(r: ByteReader, end: number): Location {
  let id = 0;
  let mappingId = 0;
  let address: Int64 = 0;
  let line = EMPTY_LINES;
  let isFolded = false;
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
        // Most locations have one line: a one-element literal is sized exactly.
        if (line === EMPTY_LINES) line = [readLine(r, r.delimited(end))];
        else line.push(readLine(r, r.delimited(end)));
        break;
      case F5_VARINT:
        isFolded = r.bool(end);
        break;
      default:
        r.skipUnknown(tag, end, PPROF_FIELDS.Location);
    }
  }
  if (line === EMPTY_LINES) line = [];
  return { id, mappingId, address, line, isFolded };
}

const EMPTY_LINES: Line[] = [];

function readLine(r: ByteReader, end: number): Line {
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
  return { functionId, line, column };
}

function readFunction(r: ByteReader, end: number): ProfileFunction {
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
  return { id, name, systemName, filename, startLine };
}
