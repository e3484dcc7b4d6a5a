// The flat profile: the pprof data model (profile.proto) with its per-sample and per-symbol
// parts in typed arrays, one column per field (docs/adr/0012-flat-profile-model.md).
//
// `Profile` (../profile.ts) holds one object per sample, per label, per location, per line and
// per function; an 18 KB upload builds about 10,000 of them and the normalisation after it keyed
// its maps on strings built from them. The flat form holds the same information in a few dozen
// arrays: decoders write it, normalisation, series splitting, relabelling and encoding read and
// rewrite it with integer hashing, and the embedded store builds its query form from it. It is
// exact: `flatToProfile(profileToFlat(p))` deep-equals `p`, and every algorithm on it yields
// what its `Profile` counterpart yields (the conformance and golden specs run through it).
//
// Conventions:
// - Ids and string-table indices are kept as read (any safe integer, negatives included) in
//   Float64Arrays: out-of-range references must survive until validation reports or
//   sanitisation repairs them, exactly as in `Profile`.
// - int64 fields are `Int64Column`s: the value itself while it is a safe integer, else NaN and
//   the exact value in the column's `big` map (rare: kernel addresses, huge sums).
// - Row i of a list spans `[start[i], start[i + 1])` of its child columns (a sample's location
//   ids, values and labels; a location's lines). Arrays may be longer than their count (builders
//   over-allocate); only the first `count` rows (and their spans) are meaningful.
// - Mappings stay `Mapping` objects: there are few per profile.

import type {
  Int64,
  Line,
  Location,
  Mapping,
  Profile,
  ProfileFunction,
  Sample,
} from '../profile.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_BIG = BigInt(MAX_SAFE);

/**
 * int64 values in a Float64Array: slot i holds the value when it is a safe integer, else NaN
 * with the exact value in `big` (keyed by slot). Readers use `int64At`; writers `setInt64`.
 */
export interface Int64Column {
  v: Float64Array;
  big: Map<number, bigint> | null;
}

export interface FlatSamples {
  count: number;
  /** count + 1 offsets into `loc` */
  locStart: Int32Array;
  /** location ids, leaf first, as in pprof */
  loc: Float64Array;
  /** count + 1 offsets into `val` */
  valStart: Int32Array;
  val: Int64Column;
  /** count + 1 offsets into the label columns */
  labStart: Int32Array;
  labKey: Float64Array;
  /** 0 for a numeric label */
  labStr: Float64Array;
  labNum: Int64Column;
  labUnit: Float64Array;
}

export interface FlatLocations {
  count: number;
  id: Float64Array;
  mapping: Float64Array;
  /** uint64, kept unsigned */
  address: Int64Column;
  folded: Uint8Array;
  /** count + 1 offsets into the line columns; lines are callee first */
  lineStart: Int32Array;
  lineFunction: Float64Array;
  lineLine: Int64Column;
  lineColumn: Int64Column;
}

export interface FlatFunctions {
  count: number;
  id: Float64Array;
  name: Float64Array;
  systemName: Float64Array;
  filename: Float64Array;
  startLine: Int64Column;
}

/** What a flat profile shares with `Profile`: everything but samples, locations and functions. */
export interface ProfileHeader {
  sampleType: Profile['sampleType'];
  mapping: Mapping[];
  stringTable: string[];
  dropFrames: number;
  keepFrames: number;
  timeNanos: Int64;
  durationNanos: Int64;
  periodType: Profile['periodType'];
  period: Int64;
  comment: number[];
  defaultSampleType: number;
  docUrl: number;
}

export interface FlatProfile extends ProfileHeader {
  samples: FlatSamples;
  locations: FlatLocations;
  functions: FlatFunctions;
}

// ---------------------------------------------------------------------------------------------
// Int64 columns

export function int64Column(n: number): Int64Column {
  return { v: new Float64Array(n), big: null };
}

/** The exact value of slot i (a number when safe, as the model's `Int64` rule says). */
export function int64At(c: Int64Column, i: number): Int64 {
  const x = c.v[i];
  if (x === x) return x;
  return (c.big as Map<number, bigint>).get(i) as bigint;
}

export function setInt64(c: Int64Column, i: number, v: Int64): void {
  if (typeof v === 'number') {
    c.v[i] = v;
    if (c.big !== null) c.big.delete(i);
    return;
  }
  if (v <= MAX_SAFE_BIG && v >= -MAX_SAFE_BIG) {
    c.v[i] = Number(v);
    if (c.big !== null) c.big.delete(i);
    return;
  }
  c.v[i] = NaN;
  (c.big ??= new Map()).set(i, v);
}

/** Copies slot `from` of `src` into slot `to` of `dst` (the columns may be the same). */
export function copyInt64(dst: Int64Column, to: number, src: Int64Column, from: number): void {
  const x = src.v[from];
  dst.v[to] = x;
  if (x === x) {
    if (dst.big !== null) dst.big.delete(to);
  } else {
    (dst.big ??= new Map()).set(to, (src.big as Map<number, bigint>).get(from) as bigint);
  }
}

/** dst[to] += src[from] with Go's int64 wrap-around (exact in every case). */
export function addInt64At(dst: Int64Column, to: number, src: Int64Column, from: number): void {
  const s = dst.v[to] + src.v[from];
  // NaN (a big slot on either side) fails both comparisons and takes the exact path.
  if (s <= MAX_SAFE && s >= -MAX_SAFE) {
    dst.v[to] = s;
    return;
  }
  const a = BigInt(int64At(dst, to));
  const b = BigInt(int64At(src, from));
  setInt64(dst, to, BigInt.asIntN(64, a + b));
}

/** A copy of the first `n` slots with the bigs that fall in them. */
export function sliceInt64(c: Int64Column, n: number): Int64Column {
  const out: Int64Column = { v: c.v.slice(0, n), big: null };
  if (c.big !== null) {
    for (const [k, v] of c.big) if (k < n) (out.big ??= new Map()).set(k, v);
  }
  return out;
}

export function growInt64(c: Int64Column, need: number): void {
  if (need > c.v.length) c.v = growF64(c.v, need);
}

// ---------------------------------------------------------------------------------------------
// Growth

export function growF64(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
}

export function growI32(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
}

export function growU8(a: Uint8Array, need: number): Uint8Array {
  if (need <= a.length) return a;
  const b = new Uint8Array(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Empty lists, sized for `n` rows and `m` children

export function flatSamples(n: number, locs: number, vals: number, labels: number): FlatSamples {
  return {
    count: 0,
    locStart: new Int32Array(n + 1),
    loc: new Float64Array(locs),
    valStart: new Int32Array(n + 1),
    val: int64Column(vals),
    labStart: new Int32Array(n + 1),
    labKey: new Float64Array(labels),
    labStr: new Float64Array(labels),
    labNum: int64Column(labels),
    labUnit: new Float64Array(labels),
  };
}

export function flatLocations(n: number, lines: number): FlatLocations {
  return {
    count: 0,
    id: new Float64Array(n),
    mapping: new Float64Array(n),
    address: int64Column(n),
    folded: new Uint8Array(n),
    lineStart: new Int32Array(n + 1),
    lineFunction: new Float64Array(lines),
    lineLine: int64Column(lines),
    lineColumn: int64Column(lines),
  };
}

export function flatFunctions(n: number): FlatFunctions {
  return {
    count: 0,
    id: new Float64Array(n),
    name: new Float64Array(n),
    systemName: new Float64Array(n),
    filename: new Float64Array(n),
    startLine: int64Column(n),
  };
}

export function emptyFlatProfile(): FlatProfile {
  return {
    sampleType: [],
    mapping: [],
    stringTable: [''],
    dropFrames: 0,
    keepFrames: 0,
    timeNanos: 0,
    durationNanos: 0,
    periodType: undefined,
    period: 0,
    comment: [],
    defaultSampleType: 0,
    docUrl: 0,
    samples: flatSamples(0, 0, 0, 0),
    locations: flatLocations(0, 0),
    functions: flatFunctions(0),
  };
}

/** Appends a function; returns its row. */
export function pushFunction(
  f: FlatFunctions,
  id: number,
  name: number,
  systemName: number,
  filename: number,
  startLine: Int64,
): number {
  const i = f.count;
  if (i === f.id.length) {
    const n = Math.max(16, i * 2);
    f.id = growF64(f.id, n);
    f.name = growF64(f.name, n);
    f.systemName = growF64(f.systemName, n);
    f.filename = growF64(f.filename, n);
    growInt64(f.startLine, n);
  }
  f.id[i] = id;
  f.name[i] = name;
  f.systemName[i] = systemName;
  f.filename[i] = filename;
  setInt64(f.startLine, i, startLine);
  f.count = i + 1;
  return i;
}

/** Appends a location with no lines yet (add them with `pushLine`); returns its row. */
export function pushLocation(
  l: FlatLocations,
  id: number,
  mapping: number,
  address: Int64,
  folded: boolean,
): number {
  const i = l.count;
  if (i === l.id.length) {
    const n = Math.max(16, i * 2);
    l.id = growF64(l.id, n);
    l.mapping = growF64(l.mapping, n);
    growInt64(l.address, n);
    l.folded = growU8(l.folded, n);
  }
  l.lineStart = growI32(l.lineStart, i + 2);
  l.id[i] = id;
  l.mapping[i] = mapping;
  setInt64(l.address, i, address);
  l.folded[i] = folded ? 1 : 0;
  l.lineStart[i + 1] = l.lineStart[i];
  l.count = i + 1;
  return i;
}

/** Appends a line to the last location. */
export function pushLine(l: FlatLocations, functionId: number, line: Int64, column: Int64): void {
  const j = l.lineStart[l.count];
  if (j === l.lineFunction.length) {
    const n = Math.max(16, j * 2);
    l.lineFunction = growF64(l.lineFunction, n);
    growInt64(l.lineLine, n);
    growInt64(l.lineColumn, n);
  }
  l.lineFunction[j] = functionId;
  setInt64(l.lineLine, j, line);
  setInt64(l.lineColumn, j, column);
  l.lineStart[l.count] = j + 1;
}

/** Appends a sample with the given location ids and values and no labels; returns its row. */
export function pushSample(
  s: FlatSamples,
  locationIds: ArrayLike<number>,
  values: ArrayLike<Int64>,
): number {
  const i = s.count;
  s.locStart = growI32(s.locStart, i + 2);
  s.valStart = growI32(s.valStart, i + 2);
  s.labStart = growI32(s.labStart, i + 2);
  const l0 = s.locStart[i];
  s.loc = growF64(s.loc, l0 + locationIds.length);
  for (let k = 0; k < locationIds.length; k++) s.loc[l0 + k] = locationIds[k];
  s.locStart[i + 1] = l0 + locationIds.length;
  const v0 = s.valStart[i];
  growInt64(s.val, v0 + values.length);
  for (let k = 0; k < values.length; k++) setInt64(s.val, v0 + k, values[k]);
  s.valStart[i + 1] = v0 + values.length;
  s.labStart[i + 1] = s.labStart[i];
  s.count = i + 1;
  return i;
}

/** Appends a label to the last sample. */
export function pushLabel(
  s: FlatSamples,
  key: number,
  str: number,
  num: Int64,
  numUnit: number,
): void {
  const j = s.labStart[s.count];
  if (j === s.labKey.length) {
    const n = Math.max(16, j * 2);
    s.labKey = growF64(s.labKey, n);
    s.labStr = growF64(s.labStr, n);
    growInt64(s.labNum, n);
    s.labUnit = growF64(s.labUnit, n);
  }
  s.labKey[j] = key;
  s.labStr[j] = str;
  setInt64(s.labNum, j, num);
  s.labUnit[j] = numUnit;
  s.labStart[s.count] = j + 1;
}

// ---------------------------------------------------------------------------------------------
// Conversions

/** The flat form of `p` (which is only read; the result shares no arrays with it). */
export function profileToFlat(p: Profile): FlatProfile {
  let nLoc = 0;
  let nVal = 0;
  let nLab = 0;
  for (const s of p.sample) {
    nLoc += s.locationId.length;
    nVal += s.value.length;
    nLab += s.label.length;
  }
  const samples = flatSamples(p.sample.length, nLoc, nVal, nLab);
  for (const s of p.sample) {
    pushSample(samples, s.locationId, s.value);
    for (const l of s.label) pushLabel(samples, l.key, l.str, l.num, l.numUnit);
  }
  let nLines = 0;
  for (const l of p.location) nLines += l.line.length;
  const locations = flatLocations(p.location.length, nLines);
  for (const l of p.location) {
    pushLocation(locations, l.id, l.mappingId, l.address, l.isFolded);
    for (const ln of l.line) pushLine(locations, ln.functionId, ln.line, ln.column);
  }
  const functions = flatFunctions(p.function.length);
  for (const f of p.function) {
    pushFunction(functions, f.id, f.name, f.systemName, f.filename, f.startLine);
  }
  return {
    ...headerOf(p),
    mapping: p.mapping.map((m) => ({ ...m })),
    samples,
    locations,
    functions,
  };
}

/** The `Profile` objects of `f` (which is only read). */
export function flatToProfile(f: FlatProfile): Profile {
  const s = f.samples;
  const sample = new Array<Sample>(s.count);
  for (let i = 0; i < s.count; i++) {
    const l0 = s.locStart[i];
    const locationId = new Array<number>(s.locStart[i + 1] - l0);
    for (let k = 0; k < locationId.length; k++) locationId[k] = s.loc[l0 + k];
    const v0 = s.valStart[i];
    const value = new Array<Int64>(s.valStart[i + 1] - v0);
    for (let k = 0; k < value.length; k++) value[k] = int64At(s.val, v0 + k);
    const label = [];
    for (let j = s.labStart[i]; j < s.labStart[i + 1]; j++) {
      label.push({
        key: s.labKey[j],
        str: s.labStr[j],
        num: int64At(s.labNum, j),
        numUnit: s.labUnit[j],
      });
    }
    sample[i] = { locationId, value, label };
  }
  const L = f.locations;
  const location = new Array<Location>(L.count);
  for (let i = 0; i < L.count; i++) {
    const line: Line[] = [];
    for (let j = L.lineStart[i]; j < L.lineStart[i + 1]; j++) {
      line.push({
        functionId: L.lineFunction[j],
        line: int64At(L.lineLine, j),
        column: int64At(L.lineColumn, j),
      });
    }
    location[i] = {
      id: L.id[i],
      mappingId: L.mapping[i],
      address: int64At(L.address, i),
      line,
      isFolded: L.folded[i] !== 0,
    };
  }
  const F = f.functions;
  const fn = new Array<ProfileFunction>(F.count);
  for (let i = 0; i < F.count; i++) {
    fn[i] = {
      id: F.id[i],
      name: F.name[i],
      systemName: F.systemName[i],
      filename: F.filename[i],
      startLine: int64At(F.startLine, i),
    };
  }
  return {
    ...headerOf(f),
    mapping: f.mapping.map((m) => ({ ...m })),
    sample,
    location,
    function: fn,
  };
}

/** A copy of the header fields (fresh arrays and value types). */
export function headerOf(p: ProfileHeader): Omit<ProfileHeader, 'mapping'> {
  return {
    sampleType: p.sampleType.map((v) => ({ type: v.type, unit: v.unit })),
    stringTable: [...p.stringTable],
    dropFrames: p.dropFrames,
    keepFrames: p.keepFrames,
    timeNanos: p.timeNanos,
    durationNanos: p.durationNanos,
    periodType: p.periodType ? { type: p.periodType.type, unit: p.periodType.unit } : undefined,
    period: p.period,
    comment: [...p.comment],
    defaultSampleType: p.defaultSampleType,
    docUrl: p.docUrl,
  };
}

/**
 * Replaces every field of `p` with the content of `f`, in place: the `Profile` API functions
 * that mutate their argument run on the flat form and write the result back through this.
 */
export function assignFlatToProfile(p: Profile, f: FlatProfile): void {
  Object.assign(p, flatToProfile(f));
}

/** Bytes the typed arrays of `f` hold (a bound for memory budgets; strings not counted). */
export function flatByteLength(f: FlatProfile): number {
  const s = f.samples;
  const l = f.locations;
  const fn = f.functions;
  return (
    s.locStart.byteLength +
    s.loc.byteLength +
    s.valStart.byteLength +
    s.val.v.byteLength +
    s.labStart.byteLength +
    s.labKey.byteLength * 3 +
    s.labNum.v.byteLength +
    l.id.byteLength * 2 +
    l.address.v.byteLength +
    l.folded.byteLength +
    l.lineStart.byteLength +
    l.lineFunction.byteLength +
    l.lineLine.v.byteLength * 2 +
    fn.id.byteLength * 4 +
    fn.startLine.v.byteLength
  );
}

/**
 * The heap a FlatProfile's own objects take besides its typed arrays' contents: some 25 typed
 * arrays with their buffers, the column and header objects (measured on Node 20: 5.6 KB held by
 * a two-stack profile whose arrays hold 636 bytes).
 */
const FLAT_FIXED_BYTES = 4608;

/**
 * What holding `f` costs in memory, for budgets that hold decoded profiles (the in-process
 * queue's payloads): its typed arrays, its strings and its fixed object overhead. For a small
 * profile the overhead is most of it, which `flatByteLength` leaves out.
 */
export function flatHeapBytes(f: FlatProfile): number {
  let strings = 0;
  for (const t of f.stringTable) strings += 16 + t.length;
  return flatByteLength(f) + strings + FLAT_FIXED_BYTES;
}

/** Every typed array of `f`, for a structured-clone transfer list (worker threads). */
export function flatTransferables(f: FlatProfile): ArrayBuffer[] {
  const s = f.samples;
  const l = f.locations;
  const fn = f.functions;
  const all = [
    s.locStart,
    s.loc,
    s.valStart,
    s.val.v,
    s.labStart,
    s.labKey,
    s.labStr,
    s.labNum.v,
    s.labUnit,
    l.id,
    l.mapping,
    l.address.v,
    l.folded,
    l.lineStart,
    l.lineFunction,
    l.lineLine.v,
    l.lineColumn.v,
    fn.id,
    fn.name,
    fn.systemName,
    fn.filename,
    fn.startLine.v,
  ];
  const seen = new Set<ArrayBuffer>();
  for (const a of all) {
    // a view into a shared or pooled buffer cannot be moved; it is copied instead
    if (
      a.buffer instanceof ArrayBuffer &&
      a.byteOffset === 0 &&
      a.byteLength === a.buffer.byteLength
    )
      seen.add(a.buffer);
  }
  return [...seen];
}
