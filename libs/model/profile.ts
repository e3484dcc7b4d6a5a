// The normalised profile: the pprof data model (profile.proto) as plain structures.
//
// Every decoder produces this shape and every backend consumes it, so it stays close to
// profile.proto: string-table indices, 1-based location/function/mapping ids, and int64 fields
// as `Int64`. An `Int64` is a JS number whenever the value is a safe integer (the common case,
// cheap to aggregate) and a bigint only when it lies outside ±(2^53-1); codecs must preserve the
// exact value either way, so negative values and values above 2^53 round-trip bit for bit.

export type Int64 = number | bigint;

export interface ValueType {
  /** string-table index */
  type: number;
  /** string-table index */
  unit: number;
}

export interface Label {
  /** string-table index */
  key: number;
  /** string-table index; 0 when the label is numeric */
  str: number;
  num: Int64;
  /** string-table index */
  numUnit: number;
}

export interface Sample {
  /** location ids, leaf first (as in pprof) */
  locationId: number[];
  /** one value per sample type */
  value: Int64[];
  label: Label[];
}

export interface Mapping {
  id: number;
  memoryStart: Int64;
  memoryLimit: Int64;
  fileOffset: Int64;
  /** string-table index */
  filename: number;
  /** string-table index */
  buildId: number;
  hasFunctions: boolean;
  hasFilenames: boolean;
  hasLineNumbers: boolean;
  hasInlineFrames: boolean;
}

export interface Line {
  functionId: number;
  line: Int64;
  column: Int64;
}

export interface Location {
  id: number;
  mappingId: number;
  address: Int64;
  /** inlined frames, callee first */
  line: Line[];
  isFolded: boolean;
}

export interface ProfileFunction {
  id: number;
  /** string-table index */
  name: number;
  /** string-table index */
  systemName: number;
  /** string-table index */
  filename: number;
  startLine: Int64;
}

export interface Profile {
  sampleType: ValueType[];
  sample: Sample[];
  mapping: Mapping[];
  location: Location[];
  function: ProfileFunction[];
  /** stringTable[0] is always "" */
  stringTable: string[];
  /** string-table index */
  dropFrames: number;
  /** string-table index */
  keepFrames: number;
  timeNanos: Int64;
  durationNanos: Int64;
  periodType: ValueType | undefined;
  period: Int64;
  /** string-table indices */
  comment: number[];
  /** string-table index */
  defaultSampleType: number;
  /** string-table index (pprof field 15) */
  docUrl: number;
}

export function emptyProfile(): Profile {
  return {
    sampleType: [],
    sample: [],
    mapping: [],
    location: [],
    function: [],
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
  };
}
