// A single linear structural scan of pprof bytes, cheap enough to run at ingest before the
// upload is answered (ADR 0013). It finds what makes a profile unusable without decoding it:
// wire format (tags, wire types, the wire type of every known field, varints, lengths, nothing
// past the end), every string of the string table valid UTF-8, string 0 empty, every string
// index in range, no location or function id 0. These are checks Grafana Pyroscope makes
// before it accepts a profile
// (`pkg/validation/validate.go` ValidateProfile and validateStringTableAccess, after the proto
// unmarshal of `pkg/pprof` RawFromBytes), with its messages; it refuses such a profile to the
// agent (400 on Push, 422 on /ingest) instead of accepting it and losing it later.
//
// Contract: reads `buf` once, front to back, allocating nothing per field (the string table is
// not materialised: UTF-8 is checked in place); O(bytes) time, O(nesting depth = 3) space.
// Throws UploadStructureError; returns counts for tests and the benchmark.

import { PPROF_FIELDS, wrongWireTypeMessage } from '../../model/index.js';

export type UploadStructureKind =
  'malformed' | 'truncated' | 'invalid_utf8' | 'invalid_profile' | 'unsupported';

export class UploadStructureError extends Error {
  override readonly name = 'UploadStructureError';
  constructor(
    readonly kind: UploadStructureKind,
    message: string,
  ) {
    super(message);
  }
}

export interface PprofStructureOptions {
  /**
   * The /ingest conversion of a .NET upload renumbers function ids first when every one is 0
   * and there are as many functions as locations (`FixFunctionIDForBrokenDotnet`,
   * `pkg/og/convert/pprof/profile.go`), so Pyroscope's check never sees those zeros.
   */
  dotnetFunctionIdFix?: boolean;
}

export interface PprofStructure {
  /** the profile's time_nanos (0 when absent), to the precision of a double */
  timeNanos: number;
  strings: number;
  samples: number;
  locations: number;
  functions: number;
}

const truncated = (): UploadStructureError =>
  new UploadStructureError('truncated', 'unexpected EOF');

// Profile message field numbers (profile.proto)
const P_SAMPLE_TYPE = 1;
const P_SAMPLE = 2;
const P_MAPPING = 3;
const P_LOCATION = 4;
const P_FUNCTION = 5;
const P_STRING = 6;
const P_TIME_NANOS = 9;
const P_PERIOD_TYPE = 11;
const P_COMMENT = 13;

// The wire types each known field may take, as a mask (bit w for wire type w) by field number,
// with the field's Go name (`PPROF_FIELDS`, the decoder's list). A known field with another
// wire type is refused as Go's generated unmarshal (vtprotobuf, what Pyroscope's RawFromBytes
// runs) refuses it, `proto: wrong wireType = 5 for field Value`, and as the decoder refuses it.
// Repeated scalars (Sample location_id and value, Profile comment) take both encodings,
// packed (2) or one varint each (0), as Go does. Fields past a table's end are unknown: skipped.
const V = 1 << 0;
const L = 1 << 2;
interface FieldTable {
  readonly wires: Uint8Array;
  readonly names: readonly string[];
}
const table = (names: readonly string[], wires: number[]): FieldTable => {
  if (wires.length !== names.length - 1) throw new Error('a wire type per field');
  return { wires: Uint8Array.from([0, ...wires]), names };
};
const F = PPROF_FIELDS;
// prettier-ignore
const PROFILE = table(F.Profile, [L, L, L, L, L, L, V, V, V, V, L, V, V | L, V, V]);
const VALUE_TYPE = table(F.ValueType, [V, V]);
const SAMPLE = table(F.Sample, [V | L, V | L, L]);
const LABEL = table(F.Label, [V, V, V, V]);
const MAPPING = table(F.Mapping, [V, V, V, V, V, V, V, V, V, V]);
const LOCATION = table(F.Location, [V, V, V, L, V]);
const LINE = table(F.Line, [V, V, V]);
const FUNCTION = table(F.Function, [V, V, V, V, V]);

/** the high bit of each byte of a word, as the int32 that `&` gives (not the positive literal) */
const HIGH_BITS = 0x80808080 | 0;

/** Go's message for a known field sent with a wire type it does not take */
function wrongWireType(wire: number, field: string): UploadStructureError {
  return new UploadStructureError('malformed', wrongWireTypeMessage(wire, field));
}

/** Scans `buf` (an uncompressed pprof). An empty buffer is an empty profile (Pyroscope: 200). */
export function scanPprofStructure(
  buf: Uint8Array,
  options: PprofStructureOptions = {},
): PprofStructure {
  const out: PprofStructure = { timeNanos: 0, strings: 0, samples: 0, locations: 0, functions: 0 };
  if (buf.length === 0) return out;
  new Scanner(buf, options.dotnetFunctionIdFix === true, out).profile();
  return out;
}

// Why a class: the reading position lives in a field of one object of one shape, and the
// methods take and return plain numbers (a tag's wire type is left in a field, not returned in
// a tuple). Closures over a shared `let pos` (the first version) kept the position in a heap
// context and allocated a tuple per tag: the scan cost 3.3 ns per byte, more than the inflate
// before it; this form is several times cheaper (ADR 0013, Cost).
class Scanner {
  private pos = 0;
  /** the wire type of the tag `tag` last read */
  private wire = 0;
  // the largest string index referenced, by where it was referenced (checked at the end: the
  // string table may come anywhere in the message)
  private maxSampleType = -1;
  private maxLabel = -1;
  private maxFunction = -1;
  private maxMapping = -1;
  private firstStringEmpty = false;
  private zeroFunctionIds = 0;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly dotnet: boolean,
    private readonly out: PprofStructure,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * A varint at pos, below `end`. One to four bytes (28 bits) stay small integers; longer ones
   * are summed as doubles: values above 2^53 lose precision, but only their zero-ness and range
   * against the string count matter, and both survive.
   */
  private varint(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < end) {
      const b0 = buf[pos];
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
      if (pos + 3 < end) {
        const b1 = buf[pos + 1];
        if (b1 < 0x80) {
          this.pos = pos + 2;
          return (b0 & 0x7f) | (b1 << 7);
        }
        const b2 = buf[pos + 2];
        if (b2 < 0x80) {
          this.pos = pos + 3;
          return (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
        }
        const b3 = buf[pos + 3];
        if (b3 < 0x80) {
          this.pos = pos + 4;
          return (b0 & 0x7f) | ((b1 & 0x7f) << 7) | ((b2 & 0x7f) << 14) | (b3 << 21);
        }
      }
    }
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw truncated();
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      mul *= 128;
    }
    throw new UploadStructureError('malformed', 'proto: integer overflow');
  }

  /** a length prefix; what it covers must lie before `end` */
  private length(end: number): number {
    const n = this.varint(end);
    if (this.pos + n > end) throw truncated();
    return n;
  }

  /** reads a tag: returns the field number and leaves the wire type in `this.wire` */
  private tag(end: number, message: string): number {
    // one byte (fields 1 to 15) is nearly every tag: kept small enough for V8 to inline
    const pos = this.pos;
    if (pos < end) {
      const b = this.buf[pos];
      if (b < 0x80 && b >= 8) {
        this.pos = pos + 1;
        this.wire = b & 7;
        return b >>> 3;
      }
    }
    return this.longTag(end, message);
  }

  private longTag(end: number, message: string): number {
    const t = this.varint(end);
    const field = t < 0x80000000 ? t >>> 3 : Math.floor(t / 8);
    const wire = t % 8;
    if (field <= 0) throw illegalTag(message, field, wire);
    // A tag wider than 32 bits: the decoder refuses it, so the scan must. Go's generated
    // unmarshal takes `int32(tag >> 3)` as the field number: not positive, an illegal tag (its
    // message, with the number Go computes, exact below 2^53); positive, Go reads on as that
    // field, which no encoder writes this way: refused with the decoder's reason.
    if (t >= 0x100000000) {
      const goField = (field % 0x100000000) | 0;
      if (goField <= 0) throw illegalTag(message, goField, wire);
      throw new UploadStructureError('malformed', `proto: ${message}: tag wider than 32 bits`);
    }
    this.wire = wire;
    return field;
  }

  /** skips a field's value of `wire` type; groups and unknown wire types are refused */
  private skip(wire: number, end: number, message: string): void {
    switch (wire) {
      case 0:
        this.varint(end);
        return;
      case 1:
        if (this.pos + 8 > end) throw truncated();
        this.pos += 8;
        return;
      case 2: {
        // `this.pos += this.length(end)` would add to the position before the length's varint
        const n = this.length(end);
        this.pos += n;
        return;
      }
      case 5:
        if (this.pos + 4 > end) throw truncated();
        this.pos += 4;
        return;
      case 4:
        throw new UploadStructureError(
          'malformed',
          `proto: ${message}: wiretype end group for non-group`,
        );
      default:
        throw new UploadStructureError('malformed', `proto: ${message}: illegal wireType ${wire}`);
    }
  }

  /**
   * A field the caller's fast path did not take: a known field with a wire type its table
   * allows is skipped (its value is not needed), with another one it is refused; an unknown
   * field is skipped. Wire type 4 is Go's end-group refusal first, known field or not (the
   * generated unmarshal checks it before the field number).
   */
  private other(field: number, end: number, t: FieldTable, message: string): void {
    const wire = this.wire;
    const wires = t.wires;
    if (wire !== 4 && field < wires.length && ((wires[field] >>> wire) & 1) === 0)
      throw wrongWireType(wire, t.names[field]);
    this.skip(wire, end, message);
  }

  /** a packed run of varints, after its tag: only their boundaries matter */
  private packed(end: number): void {
    const n = this.length(end);
    const from = this.pos;
    const stop = from + n;
    // Only two things can be wrong in a run: a varint of more than ten bytes (ten bytes with
    // the continuation bit in a row: Go's integer overflow) and a last varint cut at the run's
    // end. Ten such bytes in a row always cover one whole four-byte word counted from `from`,
    // so a run whose every word has a byte below 0x80 cannot overflow, and then only its last
    // byte matters. Four bytes a time, with no branch on each byte's high bit: a sample's ids
    // and values are most of a profile's bytes (10-20 % off the scan of heap.pb.gz, ADR 0013).
    const view = this.view;
    let i = from;
    while (i + 4 <= stop && (view.getUint32(i) & HIGH_BITS) !== HIGH_BITS) i += 4;
    if (i + 4 <= stop) {
      this.packedSlow(from, stop);
      return;
    }
    if (n > 0 && this.buf[stop - 1] >= 0x80) throw truncated();
    this.pos = stop;
  }

  /** `packed` byte by byte, for a run with four continuation bytes in a row somewhere */
  private packedSlow(from: number, stop: number): void {
    const buf = this.buf;
    let pos = from;
    let left = 0; // continuation bytes in the current varint
    while (pos < stop) {
      if (buf[pos++] < 0x80) left = 0;
      else if (++left === 10) {
        this.pos = pos;
        throw new UploadStructureError('malformed', 'proto: integer overflow');
      }
    }
    // the run ends inside a varint: its bytes stop at the run's end
    if (left > 0) throw truncated();
    this.pos = pos;
  }

  private valueType(end: number): void {
    while (this.pos < end) {
      const f = this.tag(end, 'ValueType');
      if (f === 1 && this.wire === 0) {
        const v = this.varint(end);
        if (v > this.maxSampleType) this.maxSampleType = v;
      } else this.other(f, end, VALUE_TYPE, 'ValueType');
    }
  }

  private label(end: number): void {
    while (this.pos < end) {
      const f = this.tag(end, 'Label');
      if ((f === 1 || f === 2) && this.wire === 0) {
        const v = this.varint(end);
        if (v > this.maxLabel) this.maxLabel = v;
      } else this.other(f, end, LABEL, 'Label');
    }
  }

  private sample(end: number): void {
    const buf = this.buf;
    const view = this.view;
    while (this.pos < end) {
      // location_id and value packed (tags 0x0a, 0x12) with a one-byte length: what a sample
      // mostly is, read here with the position in a local (`packed`'s checks, inline)
      const pos = this.pos;
      const b = buf[pos];
      if ((b === 0x0a || b === 0x12) && pos + 1 < end) {
        const n = buf[pos + 1];
        const from = pos + 2;
        const stop = from + n;
        if (n < 0x80 && stop <= end) {
          let i = from;
          while (i + 4 <= stop && (view.getUint32(i) & HIGH_BITS) !== HIGH_BITS) i += 4;
          if (i + 4 <= stop || (n > 0 && buf[stop - 1] >= 0x80)) this.packedSlow(from, stop);
          else this.pos = stop;
          continue;
        }
      }
      if (b === 0x0a || b === 0x12) {
        this.pos++;
        this.packed(end);
        continue;
      }
      const f = this.tag(end, 'Sample');
      // location_id or value: one varint each, or a packed run whose tag is not one byte
      if ((f === 1 || f === 2) && this.wire === 0) this.varint(end);
      else if ((f === 1 || f === 2) && this.wire === 2) this.packed(end);
      else if (f === 3 && this.wire === 2) {
        const n = this.length(end);
        this.label(this.pos + n);
      } else this.other(f, end, SAMPLE, 'Sample');
    }
  }

  private mapping(end: number): void {
    while (this.pos < end) {
      const f = this.tag(end, 'Mapping');
      if ((f === 5 || f === 6) && this.wire === 0) {
        const v = this.varint(end);
        if (v > this.maxMapping) this.maxMapping = v;
      } else this.other(f, end, MAPPING, 'Mapping');
    }
  }

  private line(end: number): void {
    while (this.pos < end) {
      const f = this.tag(end, 'Line');
      this.other(f, end, LINE, 'Line');
    }
  }

  private location(end: number): void {
    let id = 0;
    while (this.pos < end) {
      const f = this.tag(end, 'Location');
      if (f === 1 && this.wire === 0) id = this.varint(end);
      else if (f === 4 && this.wire === 2) {
        const n = this.length(end);
        this.line(this.pos + n);
      } else this.other(f, end, LOCATION, 'Location');
    }
    if (id === 0) throw new UploadStructureError('invalid_profile', 'location id is 0');
  }

  private fn(end: number): void {
    let id = 0;
    while (this.pos < end) {
      const f = this.tag(end, 'Function');
      if (f === 1 && this.wire === 0) id = this.varint(end);
      else if (f >= 2 && f <= 4 && this.wire === 0) {
        const v = this.varint(end);
        if (v > this.maxFunction) this.maxFunction = v;
      } else this.other(f, end, FUNCTION, 'Function');
    }
    if (id === 0) this.zeroFunctionIds++;
  }

  /** a string of the table, buf[pos, stop): valid UTF-8 (ASCII checked here, the rest below) */
  private string(stop: number): void {
    const buf = this.buf;
    const out = this.out;
    const from = this.pos;
    if (out.strings === 0) this.firstStringEmpty = stop === from;
    // ASCII four bytes at a time (most strings are ASCII), then byte by byte
    const view = this.view;
    let i = from;
    while (i + 4 <= stop && (view.getUint32(i) & 0x80808080) === 0) i += 4;
    for (; i < stop; i++) {
      if (buf[i] < 0x80) continue;
      if (invalidUtf8At(buf, i, stop) >= 0)
        throw new UploadStructureError(
          'invalid_utf8',
          `invalid utf8 string hex: ${hex(buf, from, stop)}`,
        );
      break;
    }
    out.strings++;
    this.pos = stop;
  }

  profile(): void {
    const out = this.out;
    const buf = this.buf;
    const end = buf.length;
    while (this.pos < end) {
      // a sample (tag 0x12) of under 128 bytes, most of a profile's fields: no tag decode
      const pos = this.pos;
      if (buf[pos] === 0x12 && pos + 1 < end) {
        const n = buf[pos + 1];
        const stop = pos + 2 + n;
        if (n < 0x80 && stop <= end) {
          this.pos = pos + 2;
          this.sample(stop);
          out.samples++;
          if (this.pos !== stop) throw truncated();
          continue;
        }
      }
      const f = this.tag(end, 'Profile');
      const w = this.wire;
      if (f === P_TIME_NANOS && w === 0) {
        out.timeNanos = this.varint(end);
        continue;
      }
      if (
        w !== 2 ||
        (f !== P_SAMPLE_TYPE &&
          f !== P_SAMPLE &&
          f !== P_MAPPING &&
          f !== P_LOCATION &&
          f !== P_FUNCTION &&
          f !== P_STRING &&
          f !== P_PERIOD_TYPE)
      ) {
        // comment, packed: its varints are read by the decoder, so their boundaries matter
        if (f === P_COMMENT && w === 2) this.packed(end);
        else this.other(f, end, PROFILE, 'Profile');
        continue;
      }
      const n = this.length(end);
      const stop = this.pos + n;
      switch (f) {
        case P_SAMPLE_TYPE:
          this.valueType(stop);
          break;
        case P_PERIOD_TYPE:
          // the period type's strings are not checked by Pyroscope; its structure is
          while (this.pos < stop) {
            const g = this.tag(stop, 'ValueType');
            this.other(g, stop, VALUE_TYPE, 'ValueType');
          }
          break;
        case P_SAMPLE:
          this.sample(stop);
          out.samples++;
          break;
        case P_MAPPING:
          this.mapping(stop);
          break;
        case P_LOCATION:
          this.location(stop);
          out.locations++;
          break;
        case P_FUNCTION:
          this.fn(stop);
          out.functions++;
          break;
        case P_STRING:
          this.string(stop);
          break;
      }
      if (this.pos !== stop) throw truncated();
    }
    this.finish();
  }

  private finish(): void {
    const out = this.out;
    if (
      this.zeroFunctionIds > 0 &&
      !(this.dotnet && this.zeroFunctionIds === out.functions && out.functions === out.locations)
    )
      throw new UploadStructureError('invalid_profile', 'function id is 0');
    // Pyroscope's validateStringTableAccess, in its order
    const n = out.strings;
    if (n === 0 || !this.firstStringEmpty)
      throw new UploadStructureError('invalid_profile', 'string 0 should be empty string');
    if (this.maxSampleType >= n)
      throw new UploadStructureError(
        'invalid_profile',
        'sample type type string index out of range',
      );
    if (this.maxLabel >= n)
      throw new UploadStructureError('invalid_profile', 'sample label string index out of range');
    if (this.maxFunction >= n)
      throw new UploadStructureError('invalid_profile', 'function string index out of range');
    if (this.maxMapping >= n)
      throw new UploadStructureError('invalid_profile', 'mapping string index out of range');
  }
}

function illegalTag(message: string, field: number, wire: number): UploadStructureError {
  return new UploadStructureError(
    'malformed',
    `proto: ${message}: illegal tag ${field} (wire type ${wire})`,
  );
}

/**
 * The offset of the first byte of an invalid UTF-8 sequence in buf[from, to), or -1 (Go's
 * utf8.ValidString: no overlongs, no surrogates, nothing above U+10FFFF).
 */
export function invalidUtf8At(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= to) return i;
    const c1 = buf[i + 1];
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = buf[i + k];
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

function hex(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += buf[i].toString(16).padStart(2, '0');
  return s;
}
