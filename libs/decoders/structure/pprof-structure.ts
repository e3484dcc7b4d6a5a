// A single linear structural scan of pprof bytes, cheap enough to run at ingest before the
// upload is answered (ADR 0013). It finds what makes a profile unusable without decoding it:
// wire format (tags, wire types, varints, lengths, nothing past the end), every string of the
// string table valid UTF-8, string 0 empty, every string index in range, no location or
// function id 0. These are checks Grafana Pyroscope makes before it accepts a profile
// (`pkg/validation/validate.go` ValidateProfile and validateStringTableAccess, after the proto
// unmarshal of `pkg/pprof` RawFromBytes), with its messages; it refuses such a profile to the
// agent (400 on Push, 422 on /ingest) instead of accepting it and losing it later.
//
// Contract: reads `buf` once, front to back, allocating nothing per field (the string table is
// not materialised: UTF-8 is checked in place); O(bytes) time, O(nesting depth = 3) space.
// Throws UploadStructureError; returns counts for tests and the benchmark.

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

/** Scans `buf` (an uncompressed pprof). An empty buffer is an empty profile (Pyroscope: 200). */
export function scanPprofStructure(
  buf: Uint8Array,
  options: PprofStructureOptions = {},
): PprofStructure {
  const out: PprofStructure = { timeNanos: 0, strings: 0, samples: 0, locations: 0, functions: 0 };
  if (buf.length === 0) return out;
  let pos = 0;
  // the largest string index referenced, by where it was referenced (checked at the end: the
  // string table may come anywhere in the message)
  let maxSampleType = -1;
  let maxLabel = -1;
  let maxFunction = -1;
  let maxMapping = -1;
  let firstStringEmpty = false;
  let zeroFunctionIds = 0;

  // varint at pos; values above 2^53 lose precision but only their zero-ness and range
  // against the string count matter, and both survive
  const varint = (end: number): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw truncated();
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new UploadStructureError('malformed', 'proto: integer overflow');
  };
  const length = (end: number): number => {
    const n = varint(end);
    if (pos + n > end) throw truncated();
    return n;
  };
  /** skips a field's value of `wire` type; groups and unknown wire types are refused */
  const skip = (wire: number, end: number, message: string): void => {
    switch (wire) {
      case 0:
        varint(end);
        return;
      case 1:
        if (pos + 8 > end) throw truncated();
        pos += 8;
        return;
      case 2: {
        // `pos += length(end)` would add to the position before the length's varint
        const n = length(end);
        pos += n;
        return;
      }
      case 5:
        if (pos + 4 > end) throw truncated();
        pos += 4;
        return;
      case 4:
        throw new UploadStructureError(
          'malformed',
          `proto: ${message}: wiretype end group for non-group`,
        );
      default:
        throw new UploadStructureError('malformed', `proto: ${message}: illegal wireType ${wire}`);
    }
  };
  const tag = (end: number, message: string): [field: number, wire: number] => {
    const t = varint(end);
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field <= 0)
      throw new UploadStructureError(
        'malformed',
        `proto: ${message}: illegal tag ${field} (wire type ${wire})`,
      );
    return [field, wire];
  };
  /** a varint field, or a packed run of them */
  const varints = (wire: number, end: number, message: string): void => {
    if (wire === 0) {
      varint(end);
      return;
    }
    if (wire !== 2) {
      skip(wire, end, message);
      return;
    }
    const n = length(end);
    const stop = pos + n;
    while (pos < stop) varint(stop);
  };

  const valueType = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'ValueType');
      if (f === 1 && w === 0) maxSampleType = Math.max(maxSampleType, varint(end));
      else skip(w, end, 'ValueType');
    }
  };
  const label = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'Label');
      if ((f === 1 || f === 2) && w === 0) maxLabel = Math.max(maxLabel, varint(end));
      else skip(w, end, 'Label');
    }
  };
  const sample = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'Sample');
      if (f === 1 || f === 2) varints(w, end, 'Sample');
      else if (f === 3 && w === 2) {
        const n = length(end);
        label(pos + n);
      } else skip(w, end, 'Sample');
    }
  };
  const mapping = (end: number): void => {
    while (pos < end) {
      const [f, w] = tag(end, 'Mapping');
      if ((f === 5 || f === 6) && w === 0) maxMapping = Math.max(maxMapping, varint(end));
      else skip(w, end, 'Mapping');
    }
  };
  const line = (end: number): void => {
    while (pos < end) {
      const [, w] = tag(end, 'Line');
      skip(w, end, 'Line');
    }
  };
  const location = (end: number): void => {
    let id = 0;
    while (pos < end) {
      const [f, w] = tag(end, 'Location');
      if (f === 1 && w === 0) id = varint(end);
      else if (f === 4 && w === 2) {
        const n = length(end);
        line(pos + n);
      } else skip(w, end, 'Location');
    }
    if (id === 0) throw new UploadStructureError('invalid_profile', 'location id is 0');
  };
  const fn = (end: number): void => {
    let id = 0;
    while (pos < end) {
      const [f, w] = tag(end, 'Function');
      if (f === 1 && w === 0) id = varint(end);
      else if (f >= 2 && f <= 4 && w === 0) maxFunction = Math.max(maxFunction, varint(end));
      else skip(w, end, 'Function');
    }
    if (id === 0) zeroFunctionIds++;
  };

  const end = buf.length;
  while (pos < end) {
    const [f, w] = tag(end, 'Profile');
    if (f === P_TIME_NANOS && w === 0) {
      out.timeNanos = varint(end);
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
      skip(w, end, 'Profile');
      continue;
    }
    const n = length(end);
    const stop = pos + n;
    switch (f) {
      case P_SAMPLE_TYPE:
        valueType(stop);
        break;
      case P_PERIOD_TYPE:
        // the period type's strings are not checked by Pyroscope; its structure is
        while (pos < stop) skip(tag(stop, 'ValueType')[1], stop, 'ValueType');
        break;
      case P_SAMPLE:
        sample(stop);
        out.samples++;
        break;
      case P_MAPPING:
        mapping(stop);
        break;
      case P_LOCATION:
        location(stop);
        out.locations++;
        break;
      case P_FUNCTION:
        fn(stop);
        out.functions++;
        break;
      case P_STRING: {
        if (out.strings === 0) firstStringEmpty = n === 0;
        const bad = invalidUtf8At(buf, pos, stop);
        if (bad >= 0)
          throw new UploadStructureError(
            'invalid_utf8',
            `invalid utf8 string hex: ${hex(buf, pos, stop)}`,
          );
        out.strings++;
        pos = stop;
        break;
      }
    }
    if (pos !== stop) throw truncated();
  }
  if (
    zeroFunctionIds > 0 &&
    !(
      options.dotnetFunctionIdFix &&
      zeroFunctionIds === out.functions &&
      out.functions === out.locations
    )
  )
    throw new UploadStructureError('invalid_profile', 'function id is 0');
  // Pyroscope's validateStringTableAccess, in its order
  const n = out.strings;
  if (n === 0 || !firstStringEmpty)
    throw new UploadStructureError('invalid_profile', 'string 0 should be empty string');
  if (maxSampleType >= n)
    throw new UploadStructureError('invalid_profile', 'sample type type string index out of range');
  if (maxLabel >= n)
    throw new UploadStructureError('invalid_profile', 'sample label string index out of range');
  if (maxFunction >= n)
    throw new UploadStructureError('invalid_profile', 'function string index out of range');
  if (maxMapping >= n)
    throw new UploadStructureError('invalid_profile', 'mapping string index out of range');
  return out;
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
